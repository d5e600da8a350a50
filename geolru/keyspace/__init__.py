"""The keyspace: a region's data as clients and peers see it, the LRU cache
with TTL (``lru``) in front of the store, the read/write core, hashes, applying peers'
records and expiry.  It may import ``geolru.store`` and ``geolru.model``; the layers above
reach the store only through it.
"""
