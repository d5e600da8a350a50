"""Unit tests: sans-IO and in-process, one package of geolru at a time, with no daemon
and no socket.  Every test under ``tests/unit`` is marked ``fast`` (the root
conftest.py); this guard keeps the mark true: a test here that connects or binds a
socket, or starts a process, fails, and belongs in ``tests/daemons``."""

import socket
import subprocess

import pytest


def _refuse(what):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a unit test {what}: it belongs in tests/daemons "
                             "(tests/unit runs with no daemon and no socket)")
    return refuse


@pytest.fixture(autouse=True)
def no_daemon_and_no_socket(monkeypatch):
    for method in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, method, _refuse(f"used socket.{method}"))
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("started a process"))
