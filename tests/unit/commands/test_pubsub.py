"""Pub/sub in the command table, sans-IO: RESP3 push frames (the differential test
covers RESP2 against redis-server), messages handed to the peers and delivered from
them, and a session that goes leaves every channel."""

import pytest
from twisted.internet import task

from geolru.commands.table import CommandTable, Session
from geolru.keyspace.keyspace import Keyspace
from geolru.keyspace.lru import LRUCache
from geolru.store.store import Store


@pytest.fixture
def table(tmp_path):
    clock = task.Clock()
    store = Store(str(tmp_path / "s"), clock, threaded=False)
    store.open()
    yield CommandTable(Keyspace(LRUCache(clock), store, "a", clock), clock)
    store.close()


def session(table, number: int, resp3: bool = False):
    pushed = []
    s = Session(number, push=pushed.append)
    if resp3:
        table.execute(s, [b"HELLO", b"3"])
    return s, pushed


def test_resp3_subscribers_get_push_frames_and_may_run_any_command(table):
    s, pushed = session(table, 1, resp3=True)
    assert table.execute(s, [b"SUBSCRIBE", b"a"]) == b">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
    assert table.execute(s, [b"PSUBSCRIBE", b"a*"]) == \
        b">3\r\n$10\r\npsubscribe\r\n$2\r\na*\r\n:2\r\n"
    assert table.execute(s, [b"GET", b"k"]) == b"_\r\n"  # (RESP3: no subscriber mode)
    assert table.execute(s, [b"PING"]) == b"+PONG\r\n"
    publisher, _ = session(table, 2)
    assert table.execute(publisher, [b"PUBLISH", b"ab", b"hi"]) == b":1\r\n"
    assert table.execute(publisher, [b"PUBLISH", b"a", b"yo"]) == b":2\r\n"
    assert pushed == [b">4\r\n$8\r\npmessage\r\n$2\r\na*\r\n$2\r\nab\r\n$2\r\nhi\r\n",
                      b">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nyo\r\n",
                      b">4\r\n$8\r\npmessage\r\n$2\r\na*\r\n$1\r\na\r\n$2\r\nyo\r\n"]
    assert table.execute(s, [b"UNSUBSCRIBE"]) == \
        b">3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n"
    assert table.execute(s, [b"UNSUBSCRIBE"]) == b">3\r\n$11\r\nunsubscribe\r\n_\r\n:1\r\n"


def test_a_publish_goes_to_the_peers_and_theirs_to_our_subscribers(table):
    sent = []
    table.publish_to_peers = lambda channel, message: sent.append((channel, message))
    s, pushed = session(table, 1)
    table.execute(s, [b"SUBSCRIBE", b"news"])
    publisher, _ = session(table, 2)
    assert table.execute(publisher, [b"PUBLISH", b"news", b"mine"]) == b":1\r\n"
    assert sent == [(b"news", b"mine")]
    assert table.deliver(b"news", b"theirs") == 1
    assert sent == [(b"news", b"mine")]  # (a peer's message goes no further)
    assert pushed == [b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$4\r\nmine\r\n",
                      b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$6\r\ntheirs\r\n"]


def test_a_session_that_goes_leaves_every_channel_and_pattern(table):
    s, _ = session(table, 1)
    table.execute(s, [b"SUBSCRIBE", b"a", b"b"])
    table.execute(s, [b"PSUBSCRIBE", b"*"])
    assert table.execute(s, [b"CLIENT", b"INFO"]).startswith(
        b"-ERR Can't execute 'client|info': only (P|S)SUBSCRIBE")
    other, _ = session(table, 2)
    table.sessions.update({1: s, 2: other})
    assert b"sub=2 psub=1" in table.execute(other, [b"CLIENT", b"LIST"])
    table.channels.drop(s)
    assert table.execute(other, [b"PUBSUB", b"NUMPAT"]) == b":0\r\n"
    assert table.execute(other, [b"PUBSUB", b"CHANNELS"]) == b"*0\r\n"
    assert table.execute(other, [b"PUBLISH", b"a", b"x"]) == b":0\r\n"


def test_ten_thousand_channels_and_patterns_come_and_go(table):
    s, pushed = session(table, 1)
    names = [b"c%05d" % i for i in range(10_000)]
    assert table.execute(s, [b"SUBSCRIBE", *names]).count(b"subscribe") == 10_000
    assert table.execute(s, [b"PSUBSCRIBE", *(n + b"*" for n in names)]).count(
        b"psubscribe") == 10_000
    publisher, _ = session(table, 2)
    assert table.execute(publisher, [b"PUBLISH", b"c00042", b"x"]) == b":2\r\n"
    table.execute(s, [b"UNSUBSCRIBE"])
    table.execute(s, [b"PUNSUBSCRIBE"])
    assert not table.channels.channels and not table.channels.patterns
