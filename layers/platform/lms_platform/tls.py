"""The TLS context of the platform's own HTTPS clients: the AWS endpoints it signs for
(``lms_platform.sigv4``) and a service's third-party API (the payment gateway).

One per execution environment, made on the first HTTPS connection: loading the CA store
costs ~30-60 ms of cold start, and a route that calls both EventBridge and the gateway
would otherwise load it twice; a client that only speaks plain HTTP (the local gateway
simulator) never loads it.
"""

from __future__ import annotations

import ssl
from functools import lru_cache


@lru_cache(maxsize=1)
def client_context() -> ssl.SSLContext:
    """Certificates and host names verified against the system's CA store."""
    return ssl.create_default_context()
