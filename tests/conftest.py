import pytest

from support import redis_server, region_daemon


@pytest.fixture
def region(tmp_path):
    """A real region daemon (twistd) on a free loopback port, stopped afterwards."""
    daemon = region_daemon(tmp_path / "region").start()
    yield daemon
    daemon.stop()


@pytest.fixture(scope="session")
def reference_redis(tmp_path_factory):
    """A real redis-server on a free loopback port, for differential tests."""
    daemon = redis_server(tmp_path_factory.mktemp("redis")).start()
    yield daemon
    daemon.stop()
