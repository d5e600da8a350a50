"""The durable store: ``Store`` (``store.py``: lifecycle, group commit and fsync,
reads) and its parts ``RowWriter`` (``rows.py``, a commit's rows), ``FieldIndex``
(``fields.py``, hash fields) and ``TombstoneCollector`` (``tombstones.py``); the
layout on disk and its format version (``layout.py``), the LMDB environment
(``tables.py``), where jobs run (``writers.py``), which filesystem it is on
(``filesystems.py``).  It may import ``geolru.model`` and nothing above; nothing
above ``geolru.keyspace`` reaches into it.
"""
