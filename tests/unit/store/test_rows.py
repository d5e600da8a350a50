"""RowWriter: a commit's rows, and the seq index kept exact whatever order the
positions come in."""

from geolru.model.record import Record, decode
from geolru.store.layout import POSITION
from geolru.store.rows import RowWriter
from geolru.store.tables import Tables


def rows(tables, db):
    with tables.env.begin() as txn:
        return [(k, v) for k, v in txn.cursor(db=db)]


def write(tables, batch):
    """Write ``batch``; the positions of the seq rows it left stale."""
    stale = []
    with tables.env.begin(write=True) as txn:
        RowWriter(txn, tables, marks=(), stale=stale).write_batch(batch)
    return stale


def live(version):
    return Record(b"v%d" % version, None, version, "here")


def test_the_seq_index_has_a_row_per_key_at_its_newest_position_and_the_moved_ones_old(
        tmp_path):
    """A record that moves leaves its old row, for the store to sweep later
    (``geolru.store.stale``); the writer says which."""
    tables = Tables(str(tmp_path))
    assert write(tables, {b"a": (live(1), 10), b"b": (live(2), 11)}) == []
    # a later position for a, and one below the table's last (appended or not)
    assert write(tables, {b"a": (live(3), 12), b"c": (live(4), 5)}) == [POSITION.pack(10)]
    assert rows(tables, tables.seq) == [(POSITION.pack(5), b"c"), (POSITION.pack(10), b"a"),
                                        (POSITION.pack(11), b"b"), (POSITION.pack(12), b"a")]
    assert [decode(v)[0] for _, v in rows(tables, tables.kv)] == [12, 11, 5]
    tables.close()


def test_a_record_rewritten_at_its_own_position_keeps_its_row(tmp_path):
    tables = Tables(str(tmp_path))
    write(tables, {b"a": (live(1), 10)})
    tombstone = Record(None, None, 1, "here")  # (an expiry: the same position)
    assert write(tables, {b"a": (tombstone, 10)}) == []
    assert rows(tables, tables.seq) == [(POSITION.pack(10), b"a")]
    assert rows(tables, tables.tombs) == [(POSITION.pack(10), b"a")]
    assert write(tables, {b"a": (live(2), 11)}) == [POSITION.pack(10)]
    assert rows(tables, tables.seq) == [(POSITION.pack(10), b"a"), (POSITION.pack(11), b"a")]
    assert rows(tables, tables.tombs) == []
    tables.close()
