"""Server commands: TIME, CONFIG, INFO and the stats snapshot INFO and /metrics render."""

from __future__ import annotations

import os
import platform
import resource
import sys

from geolru.commands.args import REDIS_VERSION, SYNTAX, arity_error, keyword, text
from geolru.commands.events import BAD_CLASS, format_classes, parse_classes
from geolru.commands.globmatch import glob_match
from geolru.commands.values import parse_memory
from geolru.common.config import rewrite
from geolru.resp import codec as p
from geolru.resp.codec import parse_int

# CONFIG SET's integer settings and their bounds (Redis 7's for its own)
INTEGER_SETTINGS = {"maxclients": (1, 4294967295),
                    "proto-max-bulk-len": (1048576, 9223372036854775807),
                    "cache-max-entries": (0, 9223372036854775807),
                    "tracking-table-max-keys": (0, 9223372036854775807)}


# where CONFIG REWRITE keeps what CONFIG SET changed: the ini's (section, key)
INI_KEYS = {"maxmemory": ("cache", "max_bytes"), "cache-max-entries": ("cache", "max_entries"),
            "cache-ttl": ("cache", "ttl"), "maxclients": ("region", "maxclients"),
            "proto-max-bulk-len": ("region", "proto_max_bulk_len"),
            "requirepass": ("security", "requirepass"),
            "notify-keyspace-events": ("region", "notify_keyspace_events")}


def _config_failed(param: str, why: str) -> bytes:
    return p.error(f"ERR CONFIG SET failed (possibly related to argument '{param}') - {why}")


class ServerCommands:

    def cmd_monitor(self, session, args):
        if session.push is None:  # (the command table alone, in a test)
            return p.error("ERR MONITOR needs a connection")
        session.monitoring = True
        self.monitors[session.id] = session
        return p.OK

    def cmd_slowlog(self, session, args):
        sub = keyword(args[1])
        slowlog = self.slowlog
        if sub == b"GET" and len(args) in (2, 3):
            count = 10
            if len(args) == 3:
                count = parse_int(args[2])
                if count is None or count < -1:
                    return p.error("ERR count should be greater than or equal to -1")
                if count == -1:
                    count = len(slowlog.entries)
            return p.array([
                p.array([p.integer(i), p.integer(when), p.integer(micros), p.bulk_array(kept),
                         p.bulk(address.encode()), p.bulk(name)])
                for i, when, micros, kept, address, name in list(slowlog.entries)[:count]])
        if sub == b"LEN" and len(args) == 2:
            return p.integer(len(slowlog.entries))
        if sub == b"RESET" and len(args) == 2:
            slowlog.entries.clear()
            return p.OK
        if sub == b"HELP" and len(args) == 2:
            return p.array([p.simple(line) for line in (
                "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN", "    Return the length of the slowlog.",
                "RESET", "    Reset the slowlog.",
                "HELP", "    Print this help.")])
        if sub == b"GET":  # (its arity lets more through than it takes)
            return p.error("ERR unknown subcommand or wrong number of arguments for '%s'. "
                           "Try SLOWLOG HELP." % text(args[1]))
        if sub in (b"LEN", b"RESET", b"HELP"):
            return arity_error("slowlog|" + text(args[1].lower()))
        return p.error("ERR unknown subcommand '%s'. Try SLOWLOG HELP." % text(args[1])[:128])

    def cmd_save(self, session, args):
        self.keyspace.save()
        return p.OK

    def cmd_bgsave(self, session, args):
        if len(args) > 2 or (len(args) == 2 and keyword(args[1]) != b"SCHEDULE"):
            return SYNTAX
        self.keyspace.save(background=True)
        return b"+Background saving started\r\n"

    def cmd_lastsave(self, session, args):
        return p.integer(int(self.keyspace.last_save))

    def cmd_time(self, session, args):
        now = self._clock.seconds()
        seconds = int(now)
        return p.bulk_array([b"%d" % seconds, b"%d" % int((now - seconds) * 1_000_000)])

    def cmd_config(self, session, args):
        sub = keyword(args[1])
        if sub == b"GET":
            if len(args) < 3:
                return arity_error("config|get")
            params = self._config_params()
            found = {}
            for pattern in args[2:]:
                for name, value in params.items():
                    if glob_match(pattern.lower(), name.encode()):
                        found[name] = value
            return p.mapping([(p.bulk(k.encode()), p.bulk(v.encode()))
                              for k, v in found.items()], session.resp3)
        if sub == b"RESETSTAT" and len(args) == 2:
            self.keyspace.hits = self.keyspace.misses = 0
            self.commands_processed = 0
            self.connections.received = self.connections.rejected = 0
            self.stats.reset()
            return p.OK
        if sub == b"SET":
            return self._config_set(args)
        if sub == b"REWRITE" and len(args) == 2:
            return self._config_rewrite()
        return p.error("ERR unknown subcommand '%s'. Try CONFIG HELP." % text(args[1])[:128])

    def _config_set(self, args) -> bytes:
        """``CONFIG SET name value [name value ...]``, all or none, as Redis 7 checks
        it; what a region can change while it runs: ``maxmemory`` (the cache tier's
        bound in bytes), ``maxmemory-policy`` (allkeys-lru, the one it has), the slow
        log's two settings, ``maxclients``, ``proto-max-bulk-len`` (for connections
        made after), ``requirepass``, and geolru's ``cache-max-entries`` and
        ``cache-ttl`` (the cache tier's bound in entries, its idle TTL in seconds)."""
        if len(args) < 4:
            return arity_error("config|set")
        if len(args) % 2:
            return SYNTAX
        known = self._config_params()
        changes = {}
        for name, value in zip(args[2::2], args[3::2], strict=True):
            param = text(name).lower()
            if param not in known:
                return p.error("ERR Unknown option or number of arguments for CONFIG SET - "
                               f"'{text(name)}'")
            if param in changes:
                return _config_failed(param, "duplicate parameter")
            if param == "maxmemory":
                size = parse_memory(value)
                if size is None:
                    return _config_failed(param, "argument must be a memory value")
                changes[param] = size
            elif param in ("slowlog-log-slower-than", "slowlog-max-len"):
                number = parse_int(value)
                low = -1 if param == "slowlog-log-slower-than" else 0
                if number is None or number < low:
                    return _config_failed(param, "argument couldn't be parsed into an integer"
                                          if number is None else
                                          f"argument must be between {low} and "
                                          "9223372036854775807 inclusive")
                changes[param] = number
            elif param in INTEGER_SETTINGS:
                low, high = INTEGER_SETTINGS[param]
                number = parse_int(value) if param != "proto-max-bulk-len" \
                    else parse_memory(value)
                if number is None:
                    return _config_failed(param, "argument couldn't be parsed into an integer"
                                          if param != "proto-max-bulk-len" else
                                          "argument must be a memory value")
                if not low <= number <= high:
                    return _config_failed(param, f"argument must be between {low} and "
                                                 f"{high} inclusive")
                changes[param] = number
            elif param == "cache-ttl":
                try:
                    seconds = float(value)
                except ValueError:
                    seconds = -1.0
                if not 0 <= seconds < float("inf"):
                    return _config_failed(param, "argument must be a number of seconds, 0 "
                                                 "or more (0: no idle expiry)")
                changes[param] = seconds
            elif param == "requirepass":
                changes[param] = value
            elif param == "notify-keyspace-events":
                flags = parse_classes(text(value))
                if flags is None:
                    return _config_failed(param, BAD_CLASS)
                changes[param] = flags
            elif param == "maxmemory-policy":
                if text(value).lower() != "allkeys-lru":
                    return _config_failed(param, "geolru evicts by LRU only (allkeys-lru)")
                changes[param] = None
            else:
                return _config_failed(param, "can't set immutable config")
        if "maxmemory" in changes:
            self.keyspace.cache.max_bytes = changes["maxmemory"]
        if "slowlog-log-slower-than" in changes:
            self.slowlog.slower_than_us = changes["slowlog-log-slower-than"]
        if "slowlog-max-len" in changes:
            self.slowlog.max_len = changes["slowlog-max-len"]
        cache = self.keyspace.cache
        self.config_changed.update(param for param in changes if param in INI_KEYS)
        for param, value in changes.items():
            if param == "maxclients":
                self.maxclients = value
            elif param == "proto-max-bulk-len":
                self.max_bulk_len = value
            elif param == "requirepass":
                self.requirepass = value  # (connections that AUTHed stay so, as in Redis)
            elif param == "cache-max-entries":
                cache.max_entries = value
            elif param == "cache-ttl":
                cache.idle_ttl = value
            elif param == "notify-keyspace-events":
                self.set_notify_flags(value)
            elif param == "tracking-table-max-keys":
                self.tracking.max_keys = value
        return p.OK

    def _config_rewrite(self) -> bytes:
        """``CONFIG REWRITE``: what CONFIG SET changed, into the ini the region was
        started from (the slow log's settings have no ini keys: they are not kept)."""
        if self.config_file is None:
            return p.error("ERR The server is running without a config file")
        cache = self.keyspace.cache
        now = {"maxmemory": str(cache.max_bytes), "cache-max-entries": str(cache.max_entries),
               "cache-ttl": f"{cache.idle_ttl:g}", "maxclients": str(self.maxclients),
               "proto-max-bulk-len": str(self.max_bulk_len),
               "requirepass": self.requirepass.decode(),
               "notify-keyspace-events": format_classes(self.notify_flags)}
        try:  # what CONFIG SET changed, and nothing else (the rest is as the ini says)
            rewrite(self.config_file, {INI_KEYS[param]: now[param]
                                       for param in self.config_changed})
        except OSError as e:
            return p.error(f"ERR Rewriting config file: {e.strerror}")
        return p.OK

    def _config_params(self) -> dict[str, str]:
        cache = self.keyspace.cache
        return {
            # every write is durable (the LMDB store commits every commit_interval):
            # what appendonly yes means to a Redis user, fsync as appendfsync says
            "save": "", "appendonly": "yes",
            "appendfsync": "always" if self.keyspace.fsync == "commit" else "everysec",
            "databases": "1", "timeout": "0",
            "maxmemory": str(cache.max_bytes), "maxmemory-policy": "allkeys-lru",
            "slowlog-log-slower-than": str(self.slowlog.slower_than_us),
            "slowlog-max-len": str(self.slowlog.max_len),
            "proto-max-bulk-len": str(self.max_bulk_len),
            "requirepass": self.requirepass.decode(),
            "maxclients": str(self.maxclients),
            # geolru's own: the cache tier's bound in entries, and its idle TTL
            "cache-max-entries": str(cache.max_entries), "cache-ttl": f"{cache.idle_ttl:g}",
            "notify-keyspace-events": format_classes(self.notify_flags),
            "tracking-table-max-keys": str(self.tracking.max_keys),
        }

    def cmd_info(self, session, args):
        wanted = {text(a).lower() for a in args[1:]} or {"default"}
        if wanted & {"all", "everything"}:
            sections = list(INFO_SECTIONS)
        else:
            default = DEFAULT_INFO_SECTIONS if "default" in wanted else ()
            sections = [s for s in INFO_SECTIONS if s in wanted or s in default]
        parts = []
        for section, fields in self.snapshot(sections).items():
            parts.append("# %s\n%s" % (section.capitalize(), "".join(
                f"{field}:{value}\n" for field, value in fields.items())))
        return p.verbatim_lines("\n".join(parts), session.resp3)

    def snapshot(self, sections=None) -> dict[str, dict[str, str]]:
        """The INFO figures, section by section: what INFO prints and /metrics and
        /info.json read (``geolru.cluster.metrics``)."""
        return {section: dict(line.split(":", 1)
                              for line in getattr(self, "_info_" + section)())
                for section in (INFO_SECTIONS if sections is None else sections)}

    def sample_stats(self) -> None:
        """Every ``RATE_INTERVAL``: feed the instantaneous rates and the memory peak."""
        self.stats.sample(self._clock.seconds(), self.commands_processed)
        self.used_memory_peak = max(self.used_memory_peak, _rss_bytes())

    def _info_server(self):
        now = self._clock.seconds()
        uptime = int(now - self.started)
        return [
            f"redis_version:{REDIS_VERSION}",
            f"redis_mode:{'standalone' if self.cluster is None else 'cluster'}",
            f"geolru_region:{self.name}",
            *([] if self.cluster is None else [f"geolru_shard:{self.cluster.myself.name}"]),
            f"geolru_latitude:{self.latitude}",
            f"geolru_longitude:{self.longitude}",
            f"os:{platform.system()} {platform.release()} {platform.machine()}",
            f"arch_bits:{64 if sys.maxsize > 2 ** 32 else 32}",
            f"python_version:{platform.python_version()}", f"process_id:{os.getpid()}",
            "process_supervised:no", f"run_id:{self.run_id}", f"tcp_port:{self.tcp_port}",
            f"server_time_usec:{int(now * 1_000_000)}",
            f"uptime_in_seconds:{uptime}", f"uptime_in_days:{uptime // 86400}",
            f"hz:{HZ}", f"configured_hz:{HZ}", f"executable:{os.path.abspath(sys.argv[0])}",
        ]

    def _info_clients(self):
        connections = self.connections
        return [f"connected_clients:{connections.connected}", f"maxclients:{self.maxclients}",
                f"blocked_clients:{connections.blocked}",
                f"tracking_clients:{self.tracking.clients}"]

    def _info_memory(self):
        rss = _rss_bytes()
        self.used_memory_peak = peak = max(self.used_memory_peak, rss)
        cache = self.keyspace.cache
        try:
            system = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            system = 0
        return [f"used_memory:{rss}", f"used_memory_human:{_human(rss)}",
                f"used_memory_rss:{rss}", f"used_memory_rss_human:{_human(rss)}",
                f"used_memory_peak:{peak}", f"used_memory_peak_human:{_human(peak)}",
                f"total_system_memory:{system}",
                f"total_system_memory_human:{_human(system)}",
                f"maxmemory:{cache.max_bytes}", f"maxmemory_human:{_human(cache.max_bytes)}",
                "maxmemory_policy:allkeys-lru", "mem_allocator:pymalloc"]

    def _info_persistence(self):
        return self.keyspace.persistence_lines()

    def _info_stats(self):
        keyspace = self.keyspace
        syncs = (0, 0) if self.replication is None else self.replication.sync_counts()
        return [
            f"total_connections_received:{self.connections.received}",
            f"total_commands_processed:{self.commands_processed}",
            f"rejected_connections:{self.connections.rejected}",
            f"expired_keys:{keyspace.expired_keys + keyspace.cache.expirations}",
            f"evicted_keys:{keyspace.cache.evictions}",
            f"keyspace_hits:{keyspace.hits}", f"keyspace_misses:{keyspace.misses}",
            *self.stats.stats_lines(),
            f"sync_full:{syncs[0]}", f"sync_partial_ok:{syncs[1]}", "sync_partial_err:0",
            f"pubsub_channels:{len(self.channels.channels)}",
            f"pubsub_patterns:{len(self.channels.patterns)}", "latest_fork_usec:0", "total_forks:0",
        ]

    def _info_cpu(self):
        me, children = (resource.getrusage(who) for who in
                        (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        lines = [f"used_cpu_sys:{me.ru_stime:.6f}", f"used_cpu_user:{me.ru_utime:.6f}",
                 f"used_cpu_sys_children:{children.ru_stime:.6f}",
                 f"used_cpu_user_children:{children.ru_utime:.6f}"]
        if hasattr(resource, "RUSAGE_THREAD"):  # INFO runs on the reactor (main) thread
            main = resource.getrusage(resource.RUSAGE_THREAD)
            lines += [f"used_cpu_sys_main_thread:{main.ru_stime:.6f}",
                      f"used_cpu_user_main_thread:{main.ru_utime:.6f}"]
        return lines

    def _info_commandstats(self):
        return self.stats.commandstats_lines()

    def _info_errorstats(self):
        return self.stats.errorstats_lines()

    def _info_replication(self):
        # peers are not Redis replicas: a Redis tool sees a master without any
        lines = ["role:master", "connected_slaves:0",
                 f"master_repl_offset:{self.keyspace.position}",
                 f"region_stale:{int(self.keyspace.stale is not None)}"]
        if self.replication is not None:
            lines += self.replication.info_lines()
        return lines

    def _info_cluster(self):
        return [f"cluster_enabled:{int(self.cluster is not None)}"]

    def _info_keyspace(self):
        keys, expires = self.keyspace.count()
        return [f"db0:keys={keys},expires={expires},avg_ttl=0"] if keys else []

    def _info_cache(self):
        cache = self.keyspace.cache
        return [
            f"cache_entries:{len(cache)}", f"cache_bytes:{cache.bytes}",
            f"cache_max_entries:{cache.max_entries}", f"cache_max_bytes:{cache.max_bytes}",
            f"cache_ttl:{cache.idle_ttl:g}", f"cache_hits:{cache.hits}",
            f"cache_misses:{cache.misses}", f"cache_evictions:{cache.evictions}",
            f"cache_expirations:{cache.expirations}",
        ]


def _rss_bytes() -> int:
    """Resident memory of this process (Linux; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


INFO_SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication",
                 "cpu", "commandstats", "errorstats", "cluster", "keyspace", "cache")
# what INFO alone shows: all but the per-command lines, as Redis does
DEFAULT_INFO_SECTIONS = tuple(s for s in INFO_SECTIONS if s != "commandstats")
HZ = 10  # the housekeeping tasks run ten times a second, like Redis' default hz


def _human(size: int) -> str:
    """Redis' human-readable sizes: 1.50M, 512B …"""
    for unit, scale in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.2f}{unit}"
    return f"{size}B"
