"""``geolru-master`` and ``geolru-region``: the daemons, in the foreground.

``geolru-region -c etc/region1.ini`` is ``twistd --nodaemon --pidfile= geolru-region
-c etc/region1.ini``, whatever way geolru was installed.  ``twistd`` finds its
plugins by scanning ``twisted/plugins`` directories on ``sys.path``: a wheel or
``pip install .`` puts ``geolru_plugins`` there, and ``pip install -e .`` puts the
checkout on ``sys.path`` (the ``package-dir`` line of ``pyproject.toml`` says why), as
a checkout on ``PYTHONPATH`` does; ``tests/daemons/test_packaging.py`` runs ``twistd`` in all
four.  These commands do not count on the scan: they import the plugins module (through
an editable install's import hook, if one ever maps the checkout in that way instead)
and hand its directory to Twisted's plugin path.  They run in the foreground, as
systemd and containers want (``twistd`` itself still daemonizes when asked).
"""

from __future__ import annotations

import os
import sys


def _run(tapname: str) -> None:
    from twisted.scripts.twistd import run

    import twisted.plugins
    from twisted.plugins import geolru_plugins  # (through an import hook, if any)

    where = os.path.dirname(os.path.abspath(geolru_plugins.__file__))
    if where not in twisted.plugins.__path__:
        twisted.plugins.__path__.append(where)
    # (argv[0] stays this program: INFO server's executable names it, as Redis names its binary)
    sys.argv = [os.path.abspath(sys.argv[0]), "--nodaemon", "--pidfile=", tapname,
                *sys.argv[1:]]
    run()


def master() -> None:
    _run("geolru-master")


def region() -> None:
    _run("geolru-region")
