"""The delaying proxy the WAN tests and bench/wan.py put on links: it delays each
direction by its one-way delay, paces to a bandwidth cap, cuts and heals."""

import socket
import subprocess
import sys
import threading
import time

import pytest

from geolru.devtools.delayproxy import DelayProxy, parse_link


@pytest.fixture
def echo_port():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    def echo(conn):
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def proxy():
    p = DelayProxy()
    yield p
    p.close()


def round_trip(port: int, payload: bytes = b"x") -> float:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        started = time.perf_counter()
        s.sendall(payload)
        got = b""
        while len(got) < len(payload):
            got += s.recv(1 << 20)
        return time.perf_counter() - started


def test_each_direction_is_delayed_by_the_one_way_delay(proxy, echo_port):
    link = proxy.add("a-b", echo_port, delay_ms=40)
    took = round_trip(link.listen_port)
    assert 0.080 <= took < 0.200, took
    stats = proxy.stats()["a-b"]
    assert stats["up"] == stats["down"] == 1


def test_a_cap_paces_the_bytes(proxy, echo_port):
    link = proxy.add("capped", echo_port, mbit=8)  # 1 MB/s each way
    took = round_trip(link.listen_port, b"y" * 200_000)  # 0.2 s out, overlapping back
    assert 0.18 <= took < 1.0, took


def test_a_cut_drops_connections_and_refuses_new_ones_until_healed(proxy, echo_port):
    link = proxy.add("a-b", echo_port)
    s = socket.create_connection(("127.0.0.1", link.listen_port), timeout=5)
    s.sendall(b"1")
    assert s.recv(1) == b"1"
    proxy.cut("a-b")
    assert s.recv(1) == b""  # dropped
    with socket.create_connection(("127.0.0.1", link.listen_port), timeout=5) as t:
        assert t.recv(1) == b""  # refused (closed at once)
    proxy.heal("a-b")
    assert round_trip(link.listen_port) < 1


def test_the_process_form_takes_commands_on_stdin(echo_port):
    listen = socket.socket()
    listen.bind(("127.0.0.1", 0))
    port = listen.getsockname()[1]
    listen.close()
    process = subprocess.Popen(
        [sys.executable, "-m", "geolru.devtools.delayproxy", f"x={port}:127.0.0.1:{echo_port}:30"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        assert 0.060 <= round_trip(port) < 0.200
        process.stdin.write("delay x 0\nstats\nbogus\n")
        process.stdin.flush()
        assert process.stdout.readline().strip() == '{"ok": true}'
        assert '"up": 1' in process.stdout.readline()
        assert "unknown command" in process.stdout.readline()
        assert round_trip(port) < 0.050
    finally:
        process.stdin.close()
        process.wait(10)


def test_a_bad_link_spec_is_a_clear_error():
    with pytest.raises(ValueError, match="expected NAME=LISTEN_PORT"):
        parse_link("x=1:2")
