"""The suite's layout mirrors the package (docs/testing.md): ``unit/<package>/`` (no
daemon, no socket: ``pytest -m fast``; ``unit/conftest.py`` holds them to it),
``daemons/`` (real daemons and clients on loopback), ``simulation/``, ``faults/``."""

from pathlib import Path

import pytest
from hypothesis import settings

from support import Cluster, Split, redis_server, region_daemon

UNIT = Path(__file__).parent / "unit"

# no per-example deadline: on a CI machine with both cores busy an example of the
# merge's property tests took 283 ms against hypothesis' default 200 ms (the tests
# assert what holds, not how fast; the benchmarks measure speed)
settings.register_profile("geolru", deadline=None)
settings.load_profile("geolru")


def pytest_collection_modifyitems(items):
    for item in items:  # fast: what a test is allowed to use, not a list of names
        if UNIT in item.path.parents:
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


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    """A master and two regions whose links a test cuts and heals (``support.Split``),
    one per test module."""
    s = Split(tmp_path_factory.mktemp("split"))
    yield s
    s.stop()
