"""The data model, with no I/O: a record and its encoding (``record``), hybrid
logical clocks (``hlc``), the identities of keys and hash fields (``hashkeys``) and the
merge rules that make every region converge (``merge``).  The floor everything else
stands on: it imports nothing of geolru above it, and nothing of Twisted.
"""
