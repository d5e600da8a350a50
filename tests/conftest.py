import pytest

from support import Cluster, redis_server, region_daemon

# modules that need no daemon and no redis-server: ``pytest -m fast`` runs them alone
FAST_MODULES = {
    "test_cache", "test_command_specs", "test_filesystems", "test_geo", "test_hlc",
    "test_inprocess", "test_keyspace", "test_master_unit", "test_masterwire", "test_merge",
    "test_plugins", "test_protocols", "test_replicator", "test_store", "test_txclient",
    "test_delayproxy", "test_links", "test_window", "test_protected", "test_hashes",
}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module.__name__ in FAST_MODULES:
            item.add_marker(pytest.mark.fast)


@pytest.fixture
def region(tmp_path):
    """A real region daemon (twistd) on a free loopback port, stopped afterwards."""
    daemon = region_daemon(tmp_path / "region").start()
    yield daemon
    daemon.stop()


@pytest.fixture
def cluster(request, tmp_path):
    """A master and regions streaming to each other (``support.Cluster``), stopped
    afterwards: Montreal, Frankfurt and Singapore, unless the test or its module is
    marked ``pytest.mark.cluster(names=[...], heartbeat_timeout=..., http=..., ...)``."""
    marker = request.node.get_closest_marker("cluster")
    started = Cluster(tmp_path, **(marker.kwargs if marker else {}))
    yield started
    started.stop()


@pytest.fixture(scope="session")
def reference_redis(tmp_path_factory):
    """A real redis-server on a free loopback port, for differential tests."""
    daemon = redis_server(tmp_path_factory.mktemp("redis")).start()
    yield daemon
    daemon.stop()


@pytest.fixture(scope="session")
def reference_redis_keys(reference_redis):
    """The reference redis-server holding ``test_globmatch.KEYS`` (in a db of its own)."""
    from test_globmatch import KEYS
    r = reference_redis.client(db=9)
    r.flushdb()
    for key in KEYS:
        if key:
            r.set(key, b"1")
    yield r
    r.flushdb()
