"""How a client reaches TLS endpoints: the master's line port and the regions'
client ports, as redis-cli's ``--tls --cacert --cert --key --insecure`` say."""

from __future__ import annotations

import ssl
from typing import Any

import attrs


@attrs.frozen
class TLS:
    cacert: str | None = None  # the CA that signed the servers' certificates (None: the system's)
    cert: str | None = None  # a client certificate, for servers that ask for one
    key: str | None = None  # its private key (None: in ``cert``)
    verify: bool = True  # False: accept any certificate (redis-cli's --insecure)

    def context(self) -> ssl.SSLContext:
        """For a plain socket (the master's lines)."""
        context = ssl.create_default_context(cafile=self.cacert)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.cert:
            context.load_cert_chain(self.cert, self.key)
        return context

    def redis_options(self) -> dict[str, Any]:
        """For ``redis.Redis`` (a region's client port)."""
        return {"ssl": True, "ssl_ca_certs": self.cacert, "ssl_certfile": self.cert,
                "ssl_keyfile": self.key, "ssl_cert_reqs": "required" if self.verify else "none",
                "ssl_check_hostname": self.verify}
