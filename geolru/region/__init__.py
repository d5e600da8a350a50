"""The region daemon: the Redis protocol over Twisted, the services that tie the
store, keyspace, command table and replication together, the HTTP side (``/metrics``)
and the twistd plugin's options.  It may import every layer below it.
"""
