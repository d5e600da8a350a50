"""The region's in-memory LRU cache with TTL, as the design card names it.

The code lives in ``geolru.keyspace.lru``, in front of the durable store.
"""

from geolru.keyspace.lru import CacheEntry, HashEntry, LRUCache

__all__ = ["CacheEntry", "HashEntry", "LRUCache"]
