"""What the master and the regions share: ini configuration, twistd option
parsing (``taps``), passwords, endpoint strings, protected mode and small Twisted
services.  It imports nothing of geolru above it.
"""
