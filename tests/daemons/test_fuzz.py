"""Fuzzing: parsers and command tables never raise, every reply is one valid frame;
and running daemons survive random bytes, truncated frames and slow partial frames."""

import random
import socket
import time

import hiredis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from geolru.commands.specs import COMMANDS
from geolru.commands.table import CommandTable, Session
from geolru.common.config import ConfigError, load_region
from geolru.keyspace.keyspace import Keyspace
from geolru.keyspace.lru import LRUCache
from geolru.master.protocol import MasterFactory
from geolru.master.registry import RegionEntry, Registry
from geolru.store.store import Store
from support import RawConnection, encode_command, region_daemon, wait_until

ARGS = st.one_of(st.sampled_from([b"k", b"0", b"-1", b"10", b"EX", b"PX", b"NX", b"XX",
                                  b"GET", b"KEEPTTL", b"PERSIST", b"GT", b"LT", b"*", b"MATCH",
                                  b"COUNT", b"9223372036854775807", b"1.5", b""]),
                 st.binary(max_size=12))
COMMAND_NAMES = [n.encode() for n in COMMANDS if n not in ("quit", "wait")] + [b"nosuch"]


def frames(reply: bytes) -> int | None:
    """How many whole RESP frames ``reply`` is (None: not whole frames)."""
    reader = hiredis.Reader()
    reader.feed(reply)
    count = 0
    while reader.gets() is not False:
        count += 1
    return None if reader.has_data() else count


# (one confirmation per channel or pattern named, as Redis)
ONE_PER_NAME = (b"subscribe", b"psubscribe", b"unsubscribe", b"punsubscribe")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(COMMAND_NAMES), st.lists(ARGS, max_size=5)),
                min_size=1, max_size=15))
@example(script=[(b"multi", []), (b"subscribe", [b"k", b"k"]), (b"exec", [])])
def test_every_reply_is_one_valid_resp_frame(tmp_path_factory, script):
    clock = Clock()
    clock.advance(1_700_000_000)
    store = Store(str(tmp_path_factory.mktemp("fuzz") / "s.db"), clock, threaded=False)
    store.open()
    table = CommandTable(Keyspace(LRUCache(clock, max_entries=5), store, "here", clock), clock)
    session = Session(1)
    try:
        for name, args in script:
            held = {b"unsubscribe": len(session.channels),
                    b"punsubscribe": len(session.patterns)}.get(name, 0)
            reply = table.execute(session, [name, *args])
            assert isinstance(reply, bytes), (name, args, reply)
            count = frames(reply)
            if name == b"exec":
                # (a SUBSCRIBE queued in MULTI answers for its second channel on after
                # EXEC's array, as redis-server 7 does: whole frames, one or more)
                assert count, (name, args, reply)
            else:
                # (UNSUBSCRIBE alone: one for each channel it held, or one saying
                # none; in MULTI, one QUEUED)
                wanted = max(1, len(args) or held) if name in ONE_PER_NAME \
                    and not reply.startswith((b"-", b"+QUEUED")) else 1
                assert count == wanted, (name, args, reply)
            clock.advance(0.5)
    finally:
        store.close()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=60), st.sampled_from([
    b"LOCATE 1 2", b"LOCATE 1 2 3", b"LOCATE nan 0", b"REGIONS", b"HELP",
    b"REGISTER a 127.0.0.1 1 2 3 4", b"HEARTBEAT a", b"CHALLENGE", b"LOCATE"])), max_size=10))
def test_master_lines_never_raise_and_always_answer_in_lines(lines):
    clock = Clock()
    registry = Registry(clock)
    registry.register(RegionEntry("r", "127.0.0.1", 7001, 7101, 10.0, 10.0))
    protocol = MasterFactory(registry).buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    for line in lines:
        protocol.dataReceived(line.replace(b"\n", b" ") + b"\r\n")
    out = transport.value()
    assert out == b"" or out.endswith(b"\r\n")


@settings(max_examples=300, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_config_parser_gives_a_config_or_a_config_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("ini") / "fuzz.ini"
    path.write_text(text)
    try:
        load_region(str(path))
    except ConfigError as e:
        assert "\n" not in str(e)


def test_socket_fuzz_against_a_running_region(tmp_path):
    daemon = region_daemon(tmp_path).start()
    rng = random.Random(1)
    try:
        r = daemon.client()
        r.mset({f"keep:{i}": f"value:{i}" for i in range(100)})
        frames = [encode_command("SET", "k", "v" * 100), encode_command("MGET", "a", "b", "c"),
                  b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nab", b"GET k\r\n"]
        slow = []
        for _ in range(20):  # slow-loris: half a frame, then silence
            conn = RawConnection(daemon.port)
            conn.send(rng.choice(frames)[:rng.randrange(1, 20)])
            slow.append(conn)
        for _ in range(200):
            kind = rng.randrange(3)
            with socket.create_connection(("127.0.0.1", daemon.port), timeout=5) as s:
                try:
                    if kind == 0:  # random bytes
                        s.sendall(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 500))))
                    elif kind == 1:  # a truncated frame
                        frame = rng.choice(frames)
                        s.sendall(frame[:rng.randrange(1, len(frame))])
                    else:  # valid frames with garbage in the middle
                        s.sendall(rng.choice(frames) + bytes([rng.randrange(256)]) * 3
                                  + rng.choice(frames))
                except OSError:
                    pass
        started = time.monotonic()
        assert r.ping() and time.monotonic() - started < 1  # alive and responsive
        assert r.mget([f"keep:{i}" for i in range(100)]) == [
            f"value:{i}".encode() for i in range(100)]
        for conn in slow:
            conn.close()
        wait_until(lambda: r.info("clients")["connected_clients"] == 1, 5,
                   what="the fuzzing connections to be gone")
    finally:
        daemon.stop()
