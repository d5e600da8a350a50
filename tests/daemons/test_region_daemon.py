"""A real region (twistd) on loopback, used by real clients: redis-py, telnet-style
lines, redis-cli and redis-benchmark; crash durability; hostile input."""

import shutil
import signal
import subprocess
import threading
import time

import pytest
import redis

from support import (
    TWISTD,
    RawConnection,
    encode_command,
    metric,
    metric_samples,
    region_daemon,
    wait_until,
)


def test_telnet_inline_set_get(region):
    conn = RawConnection(region.port)
    conn.send(b'SET greeting "hello world"\r\n')
    assert conn.read_reply() == b"+OK\r\n"
    conn.send(b"GET greeting\n")  # bare LF, as some telnets send
    assert conn.read_reply() == b"$11\r\nhello world\r\n"
    conn.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_strings_keys_and_ttls(region, protocol):
    r = region.client(protocol=protocol)
    assert r.ping()
    assert r.set("user:1", '{"name": "ada"}', ex=100)
    assert r.get("user:1") == b'{"name": "ada"}'
    assert 99 <= r.ttl("user:1") <= 100
    assert r.mset({"a": "1", "b": "2"}) and r.mget("a", "b", "c") == [b"1", b"2", None]
    assert r.incrby("n", 5) == 5 and r.decr("n") == 4
    assert r.append("a", "x") == 2 and r.strlen("a") == 2
    assert r.exists("a", "b", "zzz") == 2 and r.delete("a", "zzz") == 1
    assert sorted(r.keys("*")) == [b"b", b"n", b"user:1"]
    assert r.dbsize() == 3
    cursor, keys = r.scan(0, count=100)
    assert cursor == 0 and sorted(keys) == [b"b", b"n", b"user:1"]
    assert r.persist("user:1") and r.ttl("user:1") == -1
    assert r.set("bin", bytes(range(256))) and r.get("bin") == bytes(range(256))
    assert r.type("bin") == b"string" and r.type("nothing") == b"none"
    assert r.flushall() and r.dbsize() == 0


def test_key_expires_at_its_deadline(region):
    r = region.client()
    r.set("soon", "x", px=300)
    assert r.get("soon") == b"x"
    wait_until(lambda: r.get("soon") is None, timeout=3, what="the key to expire")
    wait_until(lambda: r.dbsize() == 0, timeout=3, what="the store to drop the key")


def test_eviction_never_loses_data(tmp_path):
    daemon = region_daemon(tmp_path, max_entries=100).start()
    try:
        r = daemon.client()
        r.mset({f"k{i}": f"v{i}" for i in range(1000)})
        assert all(r.get(f"k{i}") == f"v{i}".encode() for i in range(1000))
        info = r.info("cache")
        assert info["cache_entries"] == 100
        assert info["cache_evictions"] >= 900 and info["cache_misses"] >= 900
    finally:
        daemon.stop()


@pytest.mark.parametrize("fsync", ["everysec", "commit"])
def test_kill_9_then_restart_keeps_acknowledged_writes(tmp_path, fsync):
    daemon = region_daemon(tmp_path, commit_interval="0.01", fsync=fsync).start()
    r = daemon.client()
    assert r.info("persistence")["store_fsync"] == fsync
    assert r.info("persistence")["store_writemap"] == int(fsync == "everysec")  # ext4, tmpfs
    for i in range(2000):
        r.set(f"key{i}", f"value{i}")
    r.set("ttl", "x", ex=1000)
    r.delete("key0")
    wait_until(lambda: r.info("persistence")["store_pending"] == 0, timeout=1,
               what="the group commit")
    daemon.kill()
    daemon.start()
    r = daemon.client()
    assert r.get("key0") is None
    assert r.mget([f"key{i}" for i in range(1, 2000)]) == [
        f"value{i}".encode() for i in range(1, 2000)]
    assert 990 <= r.ttl("ttl") <= 1000
    daemon.stop()


def test_sigterm_commits_everything(tmp_path):
    daemon = region_daemon(tmp_path, commit_interval="5").start()  # a long window
    daemon.client().set("k", "v")
    daemon.stop()
    daemon.start()
    assert daemon.client().get("k") == b"v"
    daemon.stop()


def test_redis_cli_works(region):
    cli = shutil.which("redis-cli")
    assert cli, "redis-cli is missing: scripts/test installs redis-tools"
    run = lambda *a: subprocess.run([cli, "-p", str(region.port), *a], capture_output=True,  # noqa: E731
                                     text=True, timeout=20)
    assert run("SET", "x", "42").stdout.strip() == "OK"
    assert run("INCR", "x").stdout.strip() == "43"
    # interactive mode sends COMMAND DOCS first, then reads commands from stdin
    out = subprocess.run([cli, "-p", str(region.port)], input="GET x\nPING\n",
                         capture_output=True, text=True, timeout=20)
    assert out.stdout.split() == ["43", "PONG"]


def test_redis_benchmark_runs(region):
    bench = shutil.which("redis-benchmark")
    assert bench, "redis-benchmark is missing: scripts/test installs redis-tools"
    out = subprocess.run([bench, "-p", str(region.port), "-t", "set,get", "-n", "2000",
                          "-c", "10", "-P", "4", "-q"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0
    assert "SET:" in out.stdout and "GET:" in out.stdout, out.stdout + out.stderr
    assert region.client().dbsize() >= 1


# ---------------------------------------------------------------- hostile input

def assert_still_serving(region):
    r = region.client()
    r.set("alive", "yes")
    assert r.get("alive") == b"yes"


def test_1gb_bulk_length_is_refused_and_the_connection_closed(region):
    conn = RawConnection(region.port)
    conn.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1073741824\r\n")
    assert conn.read_reply() == b"-ERR Protocol error: invalid bulk length\r\n"
    assert conn.closed_by_peer()
    assert_still_serving(region)


def test_10mb_line_without_newline_is_refused(region):
    conn = RawConnection(region.port)
    try:
        conn.send(b"x" * (10 * 1024 * 1024))
    except (BrokenPipeError, ConnectionResetError):
        pass  # it may close before we finish sending
    assert conn.read_reply() == b"-ERR Protocol error: too big inline request\r\n"
    assert conn.closed_by_peer()
    assert_still_serving(region)


def test_10mb_value_is_fine(region):
    r = region.client()
    r.set("big", b"x" * (10 * 1024 * 1024))
    assert len(r.get("big")) == 10 * 1024 * 1024


@pytest.mark.parametrize("data, reply", [
    (b"*1\r\n:1\r\n", b"-ERR Protocol error: expected '$', got ':'\r\n"),
    (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b'GET "unterminated\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
])
def test_malformed_resp_closes_only_that_connection(region, data, reply):
    bystander = region.client()
    bystander.set("before", "1")
    conn = RawConnection(region.port)
    conn.send(data)
    assert conn.read_reply() == reply
    assert conn.closed_by_peer()
    assert bystander.get("before") == b"1"


@pytest.mark.parametrize("command, error", [
    (["GET"], "wrong number of arguments for 'get' command"),
    (["SET", "k", "v", "EX", "ten"], "value is not an integer or out of range"),
    (["EXPIRE", "k", "1.5"], "value is not an integer or out of range"),
    (["SET", "k", "v", "EX", "-1"], "invalid expire time in 'set' command"),
    (["NOSUCH", "x"], "unknown command 'NOSUCH', with args beginning with: 'x' "),
])
def test_bad_commands_get_errors_and_keep_the_connection(region, command, error):
    r = region.client()
    with pytest.raises(redis.ResponseError, match=error.replace("(", r"\(").replace(")", r"\)")):
        r.execute_command(*command)
    assert r.ping()


def test_random_garbage_does_not_kill_the_daemon(region):
    import random
    rng = random.Random(7)
    for _ in range(50):
        conn = RawConnection(region.port)
        try:
            conn.send(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000))))
        except OSError:
            pass
        conn.close()
    assert_still_serving(region)


def test_slow_partial_frame_does_not_block_others(region):
    slow = RawConnection(region.port)
    slow.send(encode_command("SET", "k", "v")[:7])
    assert_still_serving(region)
    slow.send(encode_command("SET", "k", "v")[7:])
    assert slow.read_reply() == b"+OK\r\n"


def test_sigstop_then_sigcont_resumes(region):
    r = region.client()
    r.set("k", "v")
    region.signal(signal.SIGSTOP)
    region.signal(signal.SIGCONT)
    assert r.get("k") == b"v"


def test_maxclients_refuses_the_extra_client(tmp_path):
    daemon = region_daemon(tmp_path, maxclients=3).start()
    try:
        conns = [RawConnection(daemon.port) for _ in range(3)]
        for conn in conns:
            assert conn.call("PING") == b"+PONG\r\n"
        extra = RawConnection(daemon.port)
        assert extra.read_reply() == b"-ERR max number of clients reached\r\n"
        assert extra.closed_by_peer()
        conns.pop().close()
        wait_until(lambda: RawConnection(daemon.port).call("PING") == b"+PONG\r\n", 5,
                   what="a place to free up")
    finally:
        daemon.stop()


def test_a_client_that_never_reads_is_disconnected_at_the_output_limit(tmp_path):
    daemon = region_daemon(tmp_path, client_output_limit="1MB").start()
    try:
        r = daemon.client()
        r.set("big", b"x" * 100_000)
        hog = RawConnection(daemon.port)
        try:
            hog.send(encode_command("GET", "big") * 1000)  # 100 MB of replies, never read
        except OSError:
            pass
        wait_until(lambda: r.info("clients")["connected_clients"] == 1, 10,
                   what="the server to drop the client that does not read")
        assert r.get("big") == b"x" * 100_000  # and everyone else is fine
    finally:
        daemon.stop()


def test_region_http_metrics_and_info_json(tmp_path):
    import json
    import urllib.request

    from support import free_port
    port = free_port()
    daemon = region_daemon(tmp_path, http=f"tcp:{port}:interface=127.0.0.1").start()
    try:
        r = daemon.client()
        r.set("k", "v")
        r.get("k")
        r.get("missing")
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read(
            ).decode()
        samples = metric_samples(text)
        assert metric(samples, "geolru_keyspace_hits_total", region="testregion") == 1
        assert metric(samples, "geolru_keyspace_misses_total", region="testregion") == 1
        assert "# TYPE geolru_cache_entries gauge" in text
        assert metric(samples, "geolru_command_calls_total", region="testregion",
                      command="get") == 2
        assert metric(samples, "geolru_command_calls_total", region="testregion",
                      command="set") == 1
        with pytest.raises(redis.ResponseError):
            r.incr("k")  # "v" is no integer (redis-py sends INCRBY k 1)
        errors = r.info("errorstats")["errorstat_ERR"]["count"]
        samples = metric_samples(urllib.request.urlopen(
            f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode())
        assert metric(samples, "geolru_command_failed_total", region="testregion",
                      command="incrby") == 1
        assert metric(samples, "geolru_errors_total", region="testregion", code="ERR") == errors
        info = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/info.json", timeout=5))
        assert info["cache"]["cache_entries"] == "1" and info["server"]["geolru_region"] == (
            "testregion")
    finally:
        daemon.stop()


def test_info_has_what_redis_tooling_reads(region):
    """The fields redis-cli --stat, redis_exporter and dashboards read, with live
    values: a client blocked in WAIT, the ops rate under load, CPU, memory peak."""
    r = region.client()
    info = r.info("all")
    for field in ("run_id", "tcp_port", "hz", "executable", "maxclients", "used_memory_peak",
                  "total_system_memory", "rdb_last_bgsave_status", "aof_last_write_status",
                  "total_net_input_bytes", "instantaneous_ops_per_sec", "total_error_replies",
                  "used_cpu_sys", "used_cpu_user", "connected_slaves", "master_repl_offset"):
        assert field in info, field
    assert info["tcp_port"] == region.port and info["rdb_last_bgsave_status"] == "ok"
    assert "cmdstat_info" in r.info("commandstats") and "cmdstat_info" not in r.info()

    blocked = RawConnection(region.port)
    blocked.send(encode_command("WAIT", "1", "0"))  # no peer will ever acknowledge
    wait_until(lambda: r.info("clients")["blocked_clients"] == 1, 5, what="WAIT to block")
    blocked.close()
    wait_until(lambda: r.info("clients")["blocked_clients"] == 0, 5, what="the unblock")

    stop = threading.Event()

    def load():
        other = region.client()
        while not stop.is_set():
            other.ping()

    pinger = threading.Thread(target=load)
    pinger.start()
    try:
        wait_until(lambda: r.info("stats")["instantaneous_ops_per_sec"] > 100, 10,
                   what="the ops rate to show the load")
    finally:
        stop.set()
        pinger.join()
    before = r.info("stats")["total_net_input_bytes"]
    r.execute_command("PING")  # *1\r\n$4\r\nPING\r\n: 14 bytes
    assert r.info("stats")["total_net_input_bytes"] - before == 14 + len(
        encode_command("INFO", "stats"))



def test_config_get_tells_the_truth_about_persistence(region, tmp_path):
    """Every write is durable (group commits to the LMDB store): a Redis user asking
    CONFIG GET appendonly learns that, and how often the disk is flushed."""
    r = region.client()
    assert r.config_get("append*") == {"appendonly": "yes", "appendfsync": "everysec"}
    assert r.config_get("save") == {"save": ""}


def test_string_extras_as_a_user_sees_them(region):
    r = region.client()
    r.set("price", "10.5", ex=100)
    assert r.incrbyfloat("price", 0.1) == 10.6 and r.ttl("price") > 90
    r.set("greeting", "Hello World")
    assert r.getrange("greeting", 0, 4) == b"Hello"
    assert r.setrange("greeting", 6, "Redis") == 11 and r.get("greeting") == b"Hello Redis"
    assert r.touch("greeting", "nothing") == 1
    assert r.object("encoding", "greeting") == b"embstr"
    assert r.memory_usage("greeting") > len("Hello Redis")


def test_randomkey_save_bgsave_lastsave(region):
    r = region.client()
    assert r.randomkey() is None
    keys = {f"k{i}".encode() for i in range(50)}
    r.mset({k: b"v" for k in keys})
    r.hset("h", "f", "v")
    keys.add(b"h")
    r.set("gone", "x")
    r.delete("gone")
    picked = {r.randomkey() for _ in range(40)}
    assert picked <= keys and len(picked) > 1
    before = int(time.time())
    assert r.execute_command("SAVE") is True  # (redis-py: +OK)
    assert r.lastsave().timestamp() >= before - 1
    assert RawConnection(region.port).call("BGSAVE") == b"+Background saving started\r\n"
    wait_until(lambda: r.info("persistence")["store_pending"] == 0, 5, what="the commit")


def test_config_set_maxmemory_bounds_the_cache_tier_at_once(region):
    r = region.client()
    r.mset({f"k{i}": b"x" * 1000 for i in range(100)})
    assert r.info("cache")["cache_bytes"] > 100_000
    assert r.config_set("maxmemory", "10kb")
    assert r.config_get("maxmemory") == {"maxmemory": "10240"}
    r.set("one-more", "x")  # (the cache makes room on its next write)
    assert r.info("cache")["cache_bytes"] <= 10240
    assert r.get("k0") == b"x" * 1000  # evicted from the cache, not lost (the store has it)


def test_client_list_kill_and_no_evict(region):
    admin = RawConnection(region.port)
    other = RawConnection(region.port)
    assert admin.call("CLIENT", "SETNAME", "admin") == b"+OK\r\n"
    other.call("SET", "k", "v")
    other_id = int(other.call("CLIENT", "ID")[1:-2])
    listing = admin.call("CLIENT", "LIST").decode()
    lines = [line for line in listing.split("\r\n", 1)[1].splitlines() if line]
    by_id = {int(line.split()[0].removeprefix("id=")): line for line in lines}
    assert " name=admin " in by_id[int(admin.call("CLIENT", "ID")[1:-2])]
    assert f"id={other_id} " in by_id[other_id] and " cmd=client " in by_id[other_id]
    only = admin.call("CLIENT", "LIST", "ID", str(other_id)).decode()
    assert only.count("id=") == 1 and f"id={other_id} " in only
    assert admin.call("CLIENT", "LIST", "ID", "x") == b"-ERR Invalid client ID\r\n"
    assert admin.call("CLIENT", "NO-EVICT", "on") == b"+OK\r\n"
    assert " flags=e " in admin.call("CLIENT", "INFO").decode()
    assert admin.call("CLIENT", "NO-EVICT", "maybe") == b"-ERR syntax error\r\n"
    assert admin.call("CLIENT", "KILL", "ID", str(other_id)) == b":1\r\n"
    assert other.closed_by_peer()
    assert admin.call("CLIENT", "KILL", "127.0.0.1:1") == b"-ERR No such client\r\n"
    assert admin.call("CLIENT", "KILL", "ID", "0") == \
        b"-ERR client-id should be greater than 0\r\n"
    third = RawConnection(region.port)
    third.call("PING")
    assert admin.call("CLIENT", "KILL", "LADDR", f"127.0.0.1:{region.port}",
                      "TYPE", "normal", "USER", "default") == b":1\r\n"  # all but me
    assert third.closed_by_peer()
    me = int(admin.call("CLIENT", "ID")[1:-2])
    assert admin.call("CLIENT", "KILL", "ID", str(me)) == b":0\r\n"  # SKIPME yes
    assert admin.call("CLIENT", "KILL", "ID", str(me), "SKIPME", "no") == b":1\r\n"
    assert admin.closed_by_peer()  # after its reply


def test_config_rewrite_keeps_what_config_set_changed(tmp_path):
    ini = tmp_path / "region.ini"
    ini.write_text("; my region\n[region]\nname = rewritten\n\n[cache]\n; the cache's bound\n"
                   "max_bytes = 64MB\n")
    program = [str(TWISTD), "-n", "--pidfile=", "geolru-region", "-c", str(ini)]
    daemon = region_daemon(tmp_path / "r", program=program).start()
    try:
        r = daemon.client()
        assert r.config_set("maxmemory", "5mb")
        assert r.config_rewrite()
        assert ini.read_text() == ("; my region\n[region]\nname = rewritten\n\n[cache]\n"
                                   "; the cache's bound\nmax_bytes = 5242880\n")
    finally:
        daemon.stop()
    daemon = region_daemon(tmp_path / "r", program=program).start()  # the same ini
    try:
        assert daemon.client().config_get("maxmemory") == {"maxmemory": "5242880"}
    finally:
        daemon.stop()


def test_config_rewrite_without_a_config_file_says_so(region):
    assert RawConnection(region.port).call("CONFIG", "REWRITE") == \
        b"-ERR The server is running without a config file\r\n"


def test_scan_meets_each_key_once_while_rewritten_keys_leave_stale_index_rows(tmp_path):
    """A rewritten key leaves its old row in the position index, swept later in order
    (docs/store.md, step 8). ``SCAN`` meets each key once all the same, before and
    after a ``kill -9`` that forgets which rows were stale, and the commits after the
    restart find those rows again."""
    daemon = region_daemon(tmp_path).start()
    r = daemon.client(socket_timeout=60)
    keys = {f"key:{i}".encode() for i in range(20_000)}

    def scanned() -> list[bytes]:
        return list(r.scan_iter(count=1000))

    def committed():
        wait_until(lambda: r.info("persistence")["store_pending"] == 0, 10,
                   what="the group commit")

    for round_ in range(3):  # 40,000 stale rows: more than a sweep gathers
        r.mset({key: b"v%d" % round_ for key in keys})
        committed()
    assert r.info("persistence")["store_stale_rows"] > 0
    found = scanned()
    assert len(found) == len(keys) and set(found) == keys
    daemon.kill()
    daemon.start()
    r = daemon.client(socket_timeout=60)
    assert r.info("persistence")["store_stale_check"] == 1
    found = scanned()
    assert len(found) == len(keys) and set(found) == keys
    wait_until(lambda: r.set("tick", "x") and r.info("persistence")["store_stale_check"] == 0,
               60, what="the commits to check the whole index")
    found = scanned()
    assert len(found) == len(keys) + 1 and set(found) == keys | {b"tick"}
    assert r.mget(sorted(keys)[:3]) == [b"v2"] * 3
    daemon.stop()
