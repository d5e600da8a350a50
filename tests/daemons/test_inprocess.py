"""The region's services in-process, on the real reactor (pytest-twisted)."""


import pytest_twisted
from twisted.internet import defer, protocol, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

from geolru.common.config import load_region
from geolru.model.record import Record
from geolru.region.service import RegionService
from geolru.store.store import Store
from support import eventually


class LineClient(protocol.Protocol):
    """Sends inline commands, collects the raw replies."""

    def __init__(self):
        self.received = b""

    def dataReceived(self, data):
        self.received += data


@pytest_twisted.ensureDeferred
async def test_threaded_store_commits_off_the_reactor_and_reads_see_buffered_writes(tmp_path):
    store = Store(str(tmp_path / "store"), reactor, commit_interval=0.01, fsync="commit")
    store.open()
    try:
        for i in range(3000):
            store.put(b"k%d" % i, Record(b"v%d" % i, None, i, "here"))
        assert store.get(b"k2999").value == b"v2999"  # buffered
        store.commit()
        assert store._inflight  # handed to the writer thread, not committed by this one
        assert store.get(b"k2999").value == b"v2999"  # in flight
        await eventually(lambda: store.pending == 0, 5, what="the group commit")
        tables = store.tables
        with tables.env.begin() as txn:  # committed: in LMDB, not only in memory
            assert txn.stat(tables.kv)["entries"] == 3000
        assert store.commits >= 1
    finally:
        store.close()


@pytest_twisted.ensureDeferred
async def test_everysec_commits_on_the_reactor_and_flushes_on_a_thread(tmp_path):
    store = Store(str(tmp_path / "store"), reactor, commit_interval=0.01)
    store.open()
    try:
        started = reactor.seconds()
        store.put(b"k", Record(b"v", None, 1, "here"))
        store.commit_and_wait()
        assert store.pending == 0 and store.commits == 1  # done on this thread
        await eventually(lambda: store.last_fsync > started, 5, what="the flush to disk")
        assert store._flusher._pool.started  # in a thread, not on the reactor
    finally:
        store.close()


@pytest_twisted.ensureDeferred
async def test_region_service_in_process(tmp_path):
    config = load_region(None, {"listen": "tcp:0:interface=127.0.0.1", "name": "inproc",
                                "data_dir": str(tmp_path / "data")})
    service = RegionService(config, reactor)
    service.startService()
    try:
        port = await service.client_port.ready
        client = LineClient()
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port, timeout=5)
        connected = await connectProtocol(endpoint, client)
        connected.transport.write(b'SET greeting "hello world"\r\nGET greeting\r\nDBSIZE\r\n')
        expected = b"+OK\r\n$11\r\nhello world\r\n:1\r\n"
        await eventually(lambda: client.received == expected, 5, what="the replies")
        connected.transport.loseConnection()
    finally:
        await defer.maybeDeferred(service.stopService)
