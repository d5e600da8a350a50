"""A deterministic simulator for geolru's replication (see run.py and docs/testing.md).

Several regions -- each the real store, keyspace, command table and replicator --
run over a simulated network and clock, through random faults; a schedule is a
seed, and the same seed replays the same run, event for event.
"""
