"""Replication between regions.  A sans-IO core (the sender and receiver state
machines, the replicator that owns them, causal stability, the flow-control window and
the peer wire format) that imports no Twisted, and ``transport``, which runs it over
Twisted connections.  It may import ``geolru.keyspace``, ``geolru.cluster`` and the
floors below.
"""
