"""Fixtures of the keyspace's tests: a clock, and two regions (``regions.Region``)."""

import pytest
from regions import EPOCH, Region
from twisted.internet import task


@pytest.fixture
def clock():
    c = task.Clock()
    c.advance(EPOCH)
    return c


@pytest.fixture
def pair(tmp_path, clock):
    return Region(tmp_path, "a", clock), Region(tmp_path, "b", clock)
