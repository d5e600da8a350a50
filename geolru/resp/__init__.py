"""The Redis wire protocol, with no I/O: the request parser (RESP2/RESP3 multibulk
and inline commands) and the reply encoders.  Bytes in, values out; it imports nothing
of geolru above it.
"""
