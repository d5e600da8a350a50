"""The durable store: LMDB tables, the threads that commit to them, group commit
and fsync, tombstone bookkeeping.  It may import ``geolru.model`` and nothing above;
nothing above ``geolru.keyspace`` reaches into it.
"""
