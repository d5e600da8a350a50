"""The guard that keeps ``tests/unit`` fast: no socket, no process."""

import socket
import subprocess
import sys

import pytest


def test_a_unit_test_cannot_bind_or_connect_a_socket():
    with socket.socket() as s, pytest.raises(AssertionError, match="tests/daemons"):
        s.bind(("127.0.0.1", 0))
    with socket.socket() as s, pytest.raises(AssertionError, match="tests/daemons"):
        s.connect(("127.0.0.1", 1))


def test_a_unit_test_cannot_start_a_process():
    with pytest.raises(AssertionError, match="started a process"):
        subprocess.run([sys.executable, "-c", "pass"])
