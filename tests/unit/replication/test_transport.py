"""The Twisted side of replication: a link per peer, kept as the membership says."""

from twisted.internet import error
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure

from geolru.cluster.membership import Membership, Peer
from geolru.keyspace.keyspace import Keyspace
from geolru.keyspace.lru import LRUCache
from geolru.replication.transport import Replication
from geolru.store.store import Store


def refuse_pending(reactor, refused: list):
    """Every connection attempt not yet answered fails, as to a stopped region."""
    for i in range(len(refused), len(reactor.tcpClients)):
        factory = reactor.tcpClients[i][2]
        factory.clientConnectionFailed(reactor.connectors[i], Failure(
            error.ConnectionRefusedError()))
        refused.append(i)


def test_a_link_tries_at_once_when_the_master_says_its_peer_is_back(tmp_path):
    reactor = MemoryReactorClock()
    store = Store(str(tmp_path / "here"), reactor, threaded=False)
    store.open()
    membership = Membership("here")
    replication = Replication("here", Keyspace(LRUCache(reactor), store, "here", reactor),
                              membership, reactor)
    peer = Peer("there", "127.0.0.1", 7000, 7001, 0.0, 0.0, up=True)
    membership.update([peer])
    replication.startService()
    refused = []
    try:
        for _ in range(30):  # there is down for a while: the retries back off to 2 s
            refuse_pending(reactor, refused)
            reactor.advance(1)
        membership.update([Peer("there", "127.0.0.1", 7000, 7001, 0.0, 0.0, up=False)])
        refuse_pending(reactor, refused)
        tries = len(reactor.tcpClients)
        membership.update([peer])  # back, the master says
        assert len(reactor.tcpClients) == tries + 1  # without waiting for the clock
        assert reactor.tcpClients[-1][:2] == ("127.0.0.1", 7001)
    finally:
        replication.stopService()
        store.close()
