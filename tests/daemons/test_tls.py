"""TLS end to end: ssl: endpoints for the client port, the peer port and the master,
with a certificate the test makes."""

import datetime
import ipaddress
import os
import re
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from geolru.client import TLS, GeoCache
from support import free_port, master_daemon, region_daemon, wait_until

GEOLRU = str(Path(sys.executable).with_name("geolru"))


@pytest.fixture
def certificate(tmp_path):
    return make_certificate(tmp_path / "tls")


def make_certificate(directory):
    """A self-signed certificate for 127.0.0.1 and localhost (its own CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "geolru test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    ca_dir = directory / "ca"
    ca_dir.mkdir(parents=True)
    cert_path = ca_dir / "cert.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path = directory / "key.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def tls_endpoint(port, cert, key):
    return f"ssl:{port}:privateKey={key}:certKey={cert}:interface=127.0.0.1"


def tls_master_lines(port, cert, line):
    context = ssl.create_default_context(cafile=str(cert))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(line.encode() + b"\r\n")
            data = b""
            while b"END\r\n" not in data and not data.startswith(b"ERR"):
                data += s.recv(65536)
    return data.decode().split("\r\n")


def test_clients_peers_and_master_over_tls(tmp_path, certificate):
    cert, key = certificate
    master_port = free_port()
    master = master_daemon(tmp_path / "master", port=master_port,
                           listen=tls_endpoint(master_port, cert, key))
    master.ready_probe = lambda: "END" in tls_master_lines(master_port, cert, "HELP")
    master.start()
    regions = {}
    try:
        for name, lat, lon in (("montreal", 45.5, -73.6), ("frankfurt", 50.1, 8.7)):
            port = free_port()
            daemon = region_daemon(
                tmp_path / name, name=name, port=port, latitude=lat, longitude=lon,
                listen=tls_endpoint(port, cert, key),
                peer_listen=tls_endpoint(free_port(), cert, key), peer_ca=cert,
                master=f"ssl:host=127.0.0.1:port={master_port}:caCertsDir={cert.parent}")
            daemon.ready_probe = lambda d=daemon: d.client(
                ssl=True, ssl_ca_certs=str(cert)).ping()
            regions[name] = daemon.start()
        montreal = regions["montreal"].client(ssl=True, ssl_ca_certs=str(cert))
        frankfurt = regions["frankfurt"].client(ssl=True, ssl_ca_certs=str(cert))
        wait_until(lambda: sum(x.endswith(" up") for x in tls_master_lines(
            master_port, cert, "REGIONS")) == 2, 15, what="both regions registered over TLS")
        montreal.set("secret", "over tls")
        wait_until(lambda: frankfurt.get("secret") == b"over tls", 10,
                   what="replication over TLS")
        assert tls_master_lines(master_port, cert, "LOCATE 40.7 -74.0")[0].startswith(
            "REGION montreal")
        # a plaintext client gets nowhere on a TLS port
        with socket.create_connection(("127.0.0.1", regions["montreal"].port), timeout=5) as s:
            s.sendall(b"PING\r\n")
            s.settimeout(2)
            try:
                answer = s.recv(100)
            except (TimeoutError, ConnectionResetError):
                answer = b""
            assert b"PONG" not in answer
    finally:
        for daemon in [master, *regions.values()]:
            daemon.stop()


def test_a_peer_with_an_untrusted_certificate_gets_no_data(tmp_path, certificate):
    cert, key = certificate
    other_cert, _ = make_certificate(tmp_path / "other")  # b trusts this one only
    a_peer_port = free_port()
    peers = tmp_path / "b" / "data" / "peers.json"  # b knows a without a master
    peers.parent.mkdir(parents=True)
    peers.write_text(f'[{{"name": "a", "host": "127.0.0.1", "port": 1, "peer_port": '
                     f'{a_peer_port}, "latitude": 0, "longitude": 0, "up": true}}]')
    a = region_daemon(tmp_path / "a", name="a",
                      peer_listen=tls_endpoint(a_peer_port, cert, key)).start()
    b = region_daemon(tmp_path / "b", name="b", peer_ca=other_cert,
                      sync_timeout=0).start()  # (a never streams to b: no waiting)
    try:
        b.client().set("k", "v")
        state = lambda: b.client().info("replication").get("peer0", {}).get("state")  # noqa: E731
        wait_until(lambda: state() == "connecting", 5, what="b's link to a")
        # for two seconds of reconnect attempts, the link never gets through
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            assert state() == "connecting" and a.client().get("k") is None
            time.sleep(0.05)
    finally:
        a.stop()
        b.stop()


def test_the_clients_over_tls_with_a_password(tmp_path, certificate):
    """GeoCache and the geolru command reach a TLS master and a TLS region that
    requires a password, as redis-cli does (--tls --cacert, -a or an environment
    variable)."""
    cert, key = certificate
    master_port, port = free_port(), free_port()
    master = master_daemon(tmp_path / "master", port=master_port,
                           listen=tls_endpoint(master_port, cert, key))
    master.ready_probe = lambda: "END" in tls_master_lines(master_port, cert, "HELP")
    region = region_daemon(
        tmp_path / "montreal", name="montreal", port=port, latitude=45.5, longitude=-73.6,
        listen=tls_endpoint(port, cert, key), requirepass="s3cret",
        master=f"ssl:host=127.0.0.1:port={master_port}:caCertsDir={cert.parent}")
    region.ready_probe = lambda: region.client(ssl=True, ssl_ca_certs=str(cert),
                                               password="s3cret").ping()
    try:
        master.start()
        region.start()
        wait_until(lambda: any(x.endswith(" up") for x in tls_master_lines(
            master_port, cert, "REGIONS")), 15, what="the region registered over TLS")
        cache = GeoCache(master=f"127.0.0.1:{master_port}", near=(45.5, -73.6),
                         password="s3cret", tls=TLS(cacert=str(cert)))
        try:
            assert cache.set("k", "from GeoCache") and cache.get("k") == b"from GeoCache"
            assert cache.current.name == "montreal"
        finally:
            cache.close()

        def geolru(*args, env=None):
            return subprocess.run([GEOLRU, "--master", f"127.0.0.1:{master_port}", *args],
                                  capture_output=True, text=True, timeout=60,
                                  env={**os.environ, **(env or {})})
        done = geolru("--cacert", str(cert), "-a", "s3cret", "set", "k", "from the cli",
                      "--near", "45.5,-73.6")
        assert done.stdout == "OK\n", done.stderr
        done = geolru("--tls", "--cacert", str(cert), "get", "k", "--near", "45.5,-73.6",
                      env={"GEOLRU_PASSWORD": "s3cret"})
        assert done.stdout == '"from the cli"\n', done.stderr
        assert "montreal" in geolru("--cacert", str(cert), "locate", "45", "-73").stdout
        table = geolru("--cacert", str(cert), "-a", "s3cret", "regions").stdout
        assert re.search(r"montreal .* up", table), table
        refused = geolru("--cacert", str(cert), "get", "k", "--near", "45.5,-73.6")
        assert refused.returncode == 1 and "Authentication required" in refused.stderr
        untrusted = geolru("--tls", "get", "k", "--near", "45.5,-73.6")  # the system's CAs
        assert untrusted.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
    finally:
        region.stop()
        master.stop()
