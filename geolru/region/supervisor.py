"""One command, a region of shards: ``twistd geolru-region`` with ``cluster_enabled =
yes`` and ``shards = N`` starts N shard processes and keeps them running.

Each shard is the same program started with ``--shard k`` and the overrides of
``geolru.region.topology.child_overrides`` (ports + k, a data_dir of its own, its
slots, where its siblings are).  A shard that dies is started again (after 0.5 s,
doubling up to 10 s while it keeps dying) and catches up from its peers as any
restarted region does.  Their log lines come out in the supervisor's log, each
under its shard's name.  Stopping the supervisor stops the shards (SIGTERM, then
SIGKILL after ``STOP_GRACE``); a shard whose supervisor is killed outright gets
SIGTERM from the kernel (``PR_SET_PDEATHSIG``, Linux).
"""

from __future__ import annotations

import os
import re
import signal
import sys

from twisted.application.service import Service
from twisted.internet import defer, error
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger

from geolru.common.config import RegionConfig
from geolru.region.topology import child_overrides, shard_name

FIRST_DELAY, LONGEST_DELAY = 0.5, 10.0  # seconds before a dead shard is started again
STEADY_AFTER = 30.0  # a shard that ran this long starts again at once if it dies
STOP_GRACE = 15.0  # seconds a shard has to stop before SIGKILL
SUPERVISOR_ENV = "GEOLRU_SUPERVISOR_PID"
_STAMP = re.compile(rb"^\d{4}-\d\d-\d\dT[\d:.]+[+-]\d{4} ")  # twistd's time stamp
TWISTD = ("import sys; from twisted.scripts.twistd import run; sys.argv[0] = 'twistd'; "
          "run()")


def die_with_supervisor() -> None:
    """In a shard process: be sent SIGTERM when the supervisor dies (Linux)."""
    parent = os.environ.get(SUPERVISOR_ENV)
    if not parent or not sys.platform.startswith("linux"):
        return
    import ctypes
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != int(parent):  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


class ShardProcess(ProcessProtocol):
    """One shard's process: its output into our log, its end to the supervisor."""

    def __init__(self, supervisor: ShardSupervisor, index: int):
        self.supervisor = supervisor
        self.index = index
        self.log = Logger(namespace=shard_name(supervisor.config.name, index))
        self._partial = {1: b"", 2: b""}
        self.ended = defer.Deferred()

    def childDataReceived(self, fd: int, data: bytes):
        lines = (self._partial.get(fd, b"") + data).split(b"\n")
        self._partial[fd] = lines.pop()
        for line in lines:
            line = _STAMP.sub(b"", line.rstrip(b"\r"))
            if line:
                self.log.info("{line}", line=line.decode(errors="replace"))

    def processEnded(self, reason):
        self.supervisor.ended(self, reason.value)
        self.ended.callback(None)


class ShardSupervisor(Service):
    """Starts the region's shards and starts again any that dies."""

    log = Logger()

    def __init__(self, config: RegionConfig, reactor, config_path: str | None,
                 overrides: dict[str, str]):
        self.config = config
        self.reactor = reactor
        self.config_path = config_path
        self.overrides = {k: v for k, v in overrides.items() if v is not None}
        self.processes: dict[int, tuple] = {}  # index -> (ShardProcess, transport, started)
        self.delays: dict[int, float] = {}
        self._calls: dict = {}
        for index in range(config.shards):
            child_overrides(config, index)  # (a port beyond 65535 fails here, at start)

    def argv(self, index: int) -> list[str]:
        options = {**self.overrides, **child_overrides(self.config, index)}
        argv = [sys.executable, "-c", TWISTD, "--nodaemon", "--pidfile=", "geolru-region"]
        if self.config_path:
            argv += ["-c", self.config_path]
        for key, value in options.items():
            argv.append(f"--{key}={value}")
        return argv

    def startService(self):
        super().startService()
        self.log.info("region {name}: starting {n} shards", name=self.config.name,
                      n=self.config.shards)
        for index in range(self.config.shards):
            self.spawn(index)

    def spawn(self, index: int) -> None:
        self._calls.pop(index, None)
        if not self.running:
            return
        protocol = ShardProcess(self, index)
        env = {**os.environ, SUPERVISOR_ENV: str(os.getpid())}
        transport = self.reactor.spawnProcess(protocol, sys.executable, self.argv(index),
                                              env=env, path=os.getcwd())
        self.processes[index] = (protocol, transport, self.reactor.seconds())
        self.log.info("shard {name} started (pid {pid})",
                      name=shard_name(self.config.name, index), pid=transport.pid)

    def ended(self, protocol: ShardProcess, why) -> None:
        index = protocol.index
        current = self.processes.get(index)
        if current is None or current[0] is not protocol:
            return
        del self.processes[index]
        name = shard_name(self.config.name, index)
        if not self.running:
            self.log.info("shard {name} stopped", name=name)
            return
        ran = self.reactor.seconds() - current[2]
        delay = FIRST_DELAY if ran >= STEADY_AFTER else min(
            LONGEST_DELAY, self.delays.get(index, FIRST_DELAY / 2) * 2)
        self.delays[index] = delay
        how = (f"exit status {why.exitCode}" if why.signal is None
               else f"signal {why.signal}")
        self.log.error("shard {name} ended ({how}) after {ran:.1f} s: starting it again in "
                       "{delay:g} s", name=name, how=how, ran=ran, delay=delay)
        self._calls[index] = self.reactor.callLater(delay, self.spawn, index)

    def stopService(self):
        super().stopService()
        for call in self._calls.values():
            if call.active():
                call.cancel()
        self._calls.clear()
        waiting = []
        for protocol, transport, _ in list(self.processes.values()):
            waiting.append(protocol.ended)
            _signal(transport, "TERM")
        if not waiting:
            return None
        kill = self.reactor.callLater(STOP_GRACE, self._kill)
        done = defer.DeferredList(waiting)

        def stopped(result):
            if kill.active():
                kill.cancel()
            return result
        return done.addBoth(stopped)

    def _kill(self) -> None:
        for protocol, transport, _ in list(self.processes.values()):
            self.log.warn("shard {name} did not stop within {grace:g} s: SIGKILL",
                          name=shard_name(self.config.name, protocol.index), grace=STOP_GRACE)
            _signal(transport, "KILL")


def _signal(transport, name: str) -> None:
    try:
        transport.signalProcess(name)
    except error.ProcessExitedAlready:
        pass
