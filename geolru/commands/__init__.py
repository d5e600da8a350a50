"""The Redis commands a region answers, one module per family as Redis splits
its own source (connection, strings, keys, hashes, server, transactions, and
``cluster`` for geolru's REGION, WAIT and PEERS), with the command table, argument
parsing, the specs registry and the docs.  It may import ``geolru.keyspace``,
``geolru.resp`` and ``geolru.model``; never ``geolru.store``.
"""
