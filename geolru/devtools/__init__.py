"""Tools for developers and tests: the local cluster behind ``scripts/cluster``
(``localcluster``) and the delaying proxy that makes loopback look like a WAN
(``delayproxy``).  It may import ``geolru.common``.
"""
