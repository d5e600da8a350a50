"""The master daemon: the region registry and its health, geodesic distances,
the line protocol (``LOCATE``, ``REGISTER``, ...), the status web page and the twistd
plugin's options.  It may import ``geolru.cluster`` and ``geolru.common``.
"""
