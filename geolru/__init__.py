"""geolru: a geo-distributed LRU cache with time expiration, as Twisted daemons."""

from importlib import metadata

try:
    __version__ = metadata.version("geolru")
except metadata.PackageNotFoundError:  # run from a checkout that is not installed
    __version__ = "0+unknown"
