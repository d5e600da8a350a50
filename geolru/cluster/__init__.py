"""How a region and the master know each other: the master's line protocol as
data (``masterwire``), a region's membership (registering, learning its peers),
reconnecting links, and the Prometheus metrics both daemons publish.  It may import
``geolru.common``.
"""
