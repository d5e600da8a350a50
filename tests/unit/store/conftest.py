"""The store's tests: a ``task.Clock`` at a fixed moment, ``NOW_MS``."""

import pytest
from twisted.internet.task import Clock

NOW_MS = 1_700_000_000_000


@pytest.fixture
def clock():
    c = Clock()
    c.advance(NOW_MS / 1000)
    return c
