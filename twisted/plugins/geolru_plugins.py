"""twistd plugins: ``geolru-region`` and ``geolru-master``.

twistd finds this module by scanning ``twisted/plugins`` under every ``sys.path``
entry (Twisted's own ``twisted/plugins/__init__.py`` extends its ``__path__`` so),
which is why neither ``twisted/`` nor ``twisted/plugins/`` here has an ``__init__.py``:
one would shadow Twisted's own (or, installed, overwrite it).  A wheel puts this file
in site-packages/twisted/plugins; an editable install and a checkout on PYTHONPATH put
the checkout on ``sys.path`` (``package-dir`` in pyproject.toml says why the editable
one does).
"""

from twisted.application.service import ServiceMaker

geolru_region = ServiceMaker(
    "geolru region", "geolru.region.tap",
    "A geolru region: Redis-compatible LRU+TTL cache over a durable store.",
    "geolru-region")

geolru_master = ServiceMaker(
    "geolru master", "geolru.master.tap",
    "The geolru master: region registry, health, and geodesic LOCATE.",
    "geolru-master")
