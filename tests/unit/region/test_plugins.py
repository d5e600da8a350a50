"""The twistd plugins, in process: found by twistd, options parsed, services built."""

from twisted.application.service import IServiceMaker, MultiService
from twisted.internet.task import Clock
from twisted.plugin import getPlugins

from geolru.master import tap as master_tap
from geolru.region import tap as region_tap
from support import ROOT


def test_twistd_finds_both_plugins():
    names = {maker.tapname: maker for maker in getPlugins(IServiceMaker)}
    assert names["geolru-region"].module == "geolru.region.tap"
    assert names["geolru-master"].module == "geolru.master.tap"


def test_the_region_plugin_builds_its_services_from_ini_and_options(tmp_path):
    options = region_tap.Options()
    options.parseOptions(["-c", str(ROOT / "etc" / "region1.ini"), "--name=lisbon",
                          "--listen=tcp:0:interface=127.0.0.1",
                          "--peer_listen=tcp:0:interface=127.0.0.1", "--master=",
                          f"--data_dir={tmp_path / 'data'}"])
    service = region_tap.makeService(options, reactor=Clock(), daemon=False)
    assert isinstance(service, MultiService)
    assert service.config.name == "lisbon"
    assert service.replication.replicator.own_name == "lisbon"
    assert service.table.replication is service.replication  # given, not patched in
    kinds = {type(child).__name__ for child in service}
    assert {"StoreService", "ListeningService", "Replication", "PeriodicService"} <= kinds
    service.store.close()


def test_the_master_plugin_builds_its_services_from_ini_and_options(tmp_path):
    options = master_tap.Options()
    options.parseOptions(["-c", str(ROOT / "etc" / "master.ini"),
                          "--listen=tcp:0:interface=127.0.0.1", "--http=",
                          f"--state_file={tmp_path / 'regions.json'}"])
    service = master_tap.makeService(options, reactor=Clock(), daemon=False)
    assert isinstance(service, MultiService)
    assert service.config.listen == "tcp:0:interface=127.0.0.1"
    assert service.config.http == ""


def test_a_daemon_collects_cycles_less_often(tmp_path):
    import gc

    from geolru.common.taps import GC_THRESHOLDS
    before = gc.get_threshold()
    try:
        options = master_tap.Options()
        options.parseOptions(["-c", str(ROOT / "etc" / "master.ini"),
                              "--listen=tcp:0:interface=127.0.0.1", "--http=",
                              f"--state_file={tmp_path / 'regions.json'}"])
        master_tap.makeService(options, reactor=Clock(), daemon=True)
        assert gc.get_threshold() == GC_THRESHOLDS
    finally:
        gc.set_threshold(*before)


def test_metrics_escape_label_values_and_match_info(tmp_path):
    """/metrics and INFO read one snapshot; a region name with a quote stays readable."""
    from geolru.cluster.metrics import RegionCollector, exposition
    from geolru.commands.table import CommandTable, Session
    from geolru.keyspace.keyspace import Keyspace
    from geolru.keyspace.lru import LRUCache
    from geolru.store.store import Store
    from support import metric, metric_samples

    clock = Clock()
    clock.advance(1_700_000_000)
    store = Store(str(tmp_path / "s"), clock, threaded=False)
    store.open()
    table = CommandTable(Keyspace(LRUCache(clock), store, 'odd"name', clock), clock,
                         name='odd"name')
    table.execute(Session(1), [b"SET", b"k", b"v"])
    table.execute(Session(1), [b"GET", b"k"])
    samples = metric_samples(exposition(RegionCollector(table)).decode())
    hits = int(table.snapshot(["stats"])["stats"]["keyspace_hits"])
    assert hits == 1
    assert metric(samples, "geolru_keyspace_hits_total", region='odd"name') == hits
    assert metric(samples, "geolru_command_calls_total", region='odd"name',
                  command="set") == 1
    store.close()
