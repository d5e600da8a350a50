"""The master's service: the registry, its health checks, the line protocol's port
(``geolru.master.protocol``) and the status page.
"""

from __future__ import annotations

from twisted.application.service import MultiService
from twisted.internet.endpoints import serverFromString

from geolru.common.config import MasterConfig
from geolru.common.protected import listens_beyond_loopback
from geolru.common.services import ListeningService, PeriodicService, quiet_site
from geolru.master.protocol import MasterFactory
from geolru.master.registry import Registry

HEALTH_INTERVAL = 0.25  # seconds between checks for silent regions


class MasterService(MultiService):
    def __init__(self, config: MasterConfig, reactor, daemon: bool = False):
        super().__init__()
        self.config = config
        self.registry = Registry(reactor, config.heartbeat_timeout, config.state_file)
        self.registry.load()
        self.factory = MasterFactory(
            self.registry, config.cluster_secret,
            protected=listens_beyond_loopback(config.listen) and not config.cluster_secret)
        PeriodicService(self.registry.check_health, reactor, HEALTH_INTERVAL,
                        "health check").setServiceParent(self)
        self.port = ListeningService(reactor, serverFromString(reactor, config.listen),
                                     self.factory, "master", stop_reactor_on_failure=daemon)
        self.port.setServiceParent(self)
        self.http = None
        if config.http:
            from geolru.master.status_page import status_root
            self.http = ListeningService(
                reactor, serverFromString(reactor, config.http),
                quiet_site(status_root(self.registry, self.factory, reactor)), "master http",
                stop_reactor_on_failure=daemon)
            self.http.setServiceParent(self)
