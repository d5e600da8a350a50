"""``geolru-master`` and ``geolru-region``: the daemons, in the foreground.

``geolru-region -c etc/region1.ini`` is ``twistd --nodaemon --pidfile= geolru-region
-c etc/region1.ini``, whatever way geolru was installed.  ``twistd`` finds its
plugins by scanning ``twisted/plugins`` directories on ``sys.path``: a regular
install puts ``geolru_plugins`` there, but ``pip install -e .`` (setuptools' default
editable mode) maps the checkout in through an import hook, which the scan does
not see.  These commands import the plugins module and hand its directory to
Twisted's plugin path, so they work in every install; they run in the foreground,
as systemd and containers want (``twistd`` itself still daemonizes when asked).
"""

from __future__ import annotations

import os
import sys


def _run(tapname: str) -> None:
    from twisted.scripts.twistd import run

    import twisted.plugins
    from twisted.plugins import geolru_plugins  # (through the editable hook, if any)

    where = os.path.dirname(os.path.abspath(geolru_plugins.__file__))
    if where not in twisted.plugins.__path__:
        twisted.plugins.__path__.append(where)
    sys.argv = ["twistd", "--nodaemon", "--pidfile=", tapname, *sys.argv[1:]]
    run()


def master() -> None:
    _run("geolru-master")


def region() -> None:
    _run("geolru-region")
