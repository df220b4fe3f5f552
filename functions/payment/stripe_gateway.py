"""The gateway through Stripe's official library (``stripe``), against Stripe itself or,
locally, the gateway simulator of ``lms run`` (``stripe_api_base``).

Imported only by what talks to the gateway (paying, the webhook, reconciliation).

Cold start (``make bench``) -- what the library would cost, and what the adapter does
instead:

- the HTTP libraries ``stripe`` imports only to choose its default clients (``requests``,
  ~45-75 ms; ``httpx`` where installed, ~45 ms): the adapter brings its own client on
  ``http.client`` (already loaded by the platform), with timeouts and a kept connection, and
  hides those libraries while ``stripe`` is imported (when no one in the process has
  imported them yet);
- ``asyncio`` (~20-50 ms), which ``stripe._http_client`` imports unconditionally for one
  call of its aiohttp client: deferred until something uses it (nothing here does);
- the typed resource of each answer (``stripe._payment_intent``, ~20 ms to import, its
  annotations evaluated class by class) only for the adapter to turn it back into a dict:
  the requests go through ``StripeClient.raw_request`` (the library's documented way to
  send a request without its method definitions), same URL, parameters, headers, keys and
  errors, and the answer's JSON is read as it came;
- the CA store, loaded once per execution environment for every HTTPS client of the
  platform (``lms_platform.tls``), not once more for the gateway.

Timeouts: a route function has 10 s; a payment makes at most two gateway calls, each
bounded here so that both fit. The library's own retries are off: a call that got no
answer is retried by the use case with the same idempotency key (the client's retry, or
the reconciliation job), which is what makes a retry safe.
"""

from __future__ import annotations

import http.client
import importlib
import json
import sys
import threading
import urllib.parse
from collections.abc import Callable
from functools import lru_cache
from types import ModuleType
from typing import Any

from functions.payment.gateway import (
    GatewayEvent,
    GatewayRefused,
    GatewayUnavailable,
    Intent,
    InvalidSignature,
)
from lms_platform.settings import get_settings
from lms_platform.tls import client_context

TIMEOUT_SECONDS = 4.0
# Stripe's own recommendation and the rule: a signed webhook older than this is
# refused, so that a captured one cannot be replayed later.
WEBHOOK_TOLERANCE_SECONDS = 300
# Payment methods that never redirect the customer (cards): redirect-based ones would need
# a return URL at confirmation.
AUTOMATIC_PAYMENT_METHODS: Any = {"enabled": True, "allow_redirects": "never"}


# The HTTP libraries ``stripe`` probes at import time to choose its default clients (sync:
# requests, pycurl; async: httpx, aiohttp). The adapter passes its own client, so none is
# ever used: one installed beside it (httpx pulls in its command line, click and rich) would
# only cost its import on every cold start.
PROBED_CLIENTS = ("requests", "pycurl", "httpx", "aiohttp")


# The standard library modules ``stripe`` imports for clients the adapter never uses.
DEFERRED_MODULES = ("asyncio",)


class _Deferred(ModuleType):
    """Stands for a module until an attribute of it is first read, then imports the real
    one (which takes its own place in ``sys.modules``) and answers from it."""

    def __getattr__(self, attribute: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attribute)


@lru_cache(maxsize=1)
def _stripe() -> ModuleType:
    """``stripe``, imported without the HTTP libraries it probes for and without
    ``asyncio``, unless this process already has them (then they cost nothing)."""
    if "stripe" in sys.modules:
        import stripe

        return stripe
    # None in sys.modules makes ``import x`` fail, so stripe settles for urllib as its
    # default client (never used: the adapter passes its own). Restored at once.
    hidden = [name for name in PROBED_CLIENTS if name not in sys.modules]
    deferred = {name: _Deferred(name) for name in DEFERRED_MODULES if name not in sys.modules}
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    sys.modules.update(deferred)
    try:
        import stripe
    finally:
        for name in hidden:
            del sys.modules[name]
        for name, stand_in in deferred.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
    return stripe


def keys() -> tuple[str, str, str | None]:
    """(secret key, webhook signing secret, API base): the service's secret on AWS, the
    settings locally."""
    settings = get_settings()
    if settings.secret_stripe_arn:
        from lms_platform.secrets import secret_json

        secret = secret_json(settings.secret_stripe_arn)
        return str(secret["secretKey"]), str(secret["webhookSecret"]), settings.stripe_api_base
    if not (settings.stripe_secret_key and settings.stripe_webhook_secret):
        raise RuntimeError(
            "no payment gateway keys: set LMS_SECRET_STRIPE_ARN, or LMS_STRIPE_SECRET_KEY and "
            "LMS_STRIPE_WEBHOOK_SECRET"
        )
    return settings.stripe_secret_key, settings.stripe_webhook_secret, settings.stripe_api_base


def _http_client(timeout: float) -> Any:
    """A ``stripe.HTTPClient`` on ``http.client``: one kept connection per thread and host,
    opened again once when a kept one turns out closed (every write carries an idempotency
    key, so sending it again is safe)."""
    stripe = _stripe()

    class KeptConnectionClient(stripe.HTTPClient):  # type: ignore[name-defined,misc]
        name = "http.client"

        def __init__(self) -> None:
            super().__init__()
            self._local = threading.local()

        def request(
            self, method: str, url: str, headers: Any, post_data: Any = None
        ) -> tuple[bytes, int, dict[str, str]]:
            parts = urllib.parse.urlsplit(url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            body = post_data.encode() if isinstance(post_data, str) else post_data
            for attempt in (1, 2):
                connection, kept = self._connection(parts.scheme, parts.netloc)
                try:
                    connection.request(method.upper(), target, body=body, headers=dict(headers))
                    response = connection.getresponse()
                    content = response.read()
                except (OSError, http.client.HTTPException) as error:
                    connection.close()
                    self._local.connections.pop((parts.scheme, parts.netloc), None)
                    stale = kept and isinstance(
                        error,
                        http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError,
                    )
                    if stale and attempt == 1:
                        continue
                    raise stripe.APIConnectionError(f"Network error: {error!r}") from error
                found = {k.lower(): v for k, v in response.getheaders()}
                return content, response.status, found
            raise AssertionError("unreachable")

        def request_stream(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError("streaming is not used")

        def _connection(self, scheme: str, netloc: str) -> tuple[Any, bool]:
            connections = getattr(self._local, "connections", None)
            if connections is None:
                connections = self._local.connections = {}
            found = connections.get((scheme, netloc))
            if found is not None:
                return found, True
            if scheme == "https":
                made: Any = http.client.HTTPSConnection(
                    netloc, timeout=timeout, context=client_context()
                )
            else:
                made = http.client.HTTPConnection(netloc, timeout=timeout)
            connections[(scheme, netloc)] = made
            return made, False

        def close(self) -> None:
            for connection in getattr(self._local, "connections", {}).values():
                connection.close()

    return KeptConnectionClient()


class StripeGateway:
    def __init__(self, secret_key: str, webhook_secret: str, api_base: str | None = None):
        stripe = _stripe()
        self._webhook_secret = webhook_secret
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=0,
            http_client=_http_client(TIMEOUT_SECONDS),
        )

    def _intents(self, method: str, path: str = "", **params: Any) -> Intent:
        """One PaymentIntents request, as ``client.v1.payment_intents`` sends it (the id
        escaped as the library escapes it); ``idempotency_key`` travels as the header."""
        return _call(
            lambda: self._client.raw_request(method, "/v1/payment_intents" + path, **params)
        )

    def create_intent(
        self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
    ) -> Intent:
        return self._intents(
            "post",
            amount=amount,
            currency=currency.lower(),
            metadata=metadata,
            automatic_payment_methods=AUTOMATIC_PAYMENT_METHODS,
            idempotency_key=idempotency_key,
        )

    def confirm_intent(
        self, intent_id: str, *, payment_method: str, idempotency_key: str
    ) -> Intent:
        return self._intents(
            "post",
            f"/{_quoted(intent_id)}/confirm",
            payment_method=payment_method,
            idempotency_key=idempotency_key,
        )

    def retrieve_intent(self, intent_id: str) -> Intent:
        return self._intents("get", f"/{_quoted(intent_id)}")

    def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> Intent:
        return self._intents(
            "post", f"/{_quoted(intent_id)}/cancel", idempotency_key=idempotency_key
        )

    def verify_event(self, payload: str, signature: str | None) -> GatewayEvent:
        stripe = _stripe()
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, self._webhook_secret, WEBHOOK_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as error:
            raise InvalidSignature(str(error)) from None
        try:
            event = json.loads(payload)
            data = event["data"]["object"]
            return GatewayEvent(
                id=str(event["id"]),
                type=str(event["type"]),
                created=int(event.get("created") or 0),
                object=data if isinstance(data, dict) else {},
            )
        except (ValueError, KeyError, TypeError):
            raise InvalidSignature("a signed payload that is not an event") from None


def _quoted(intent_id: str) -> str:
    return urllib.parse.quote_plus(intent_id)


def _call(request: Callable[[], Any]) -> Intent:
    stripe = _stripe()
    try:
        found = request()
    except stripe.CardError as error:
        # A decline: the intent, as it now stands, travels with the error.
        json_body: Any = error.json_body or {}
        body = json_body.get("error") or {}
        intent = body.get("payment_intent")
        if not isinstance(intent, dict):
            raise GatewayRefused(str(error), code=error.code, status=error.http_status) from None
        intent.setdefault("last_payment_error", body)
        return Intent.from_object(intent)
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
        raise GatewayUnavailable(type(error).__name__) from None
    except stripe.IdempotencyError as error:
        # The same key in use by a request still running at the gateway (409); a key reused
        # with other parameters (400) cannot happen: keys are derived from the payment.
        raise GatewayUnavailable(f"idempotency: {error}") from None
    except stripe.AuthenticationError as error:
        raise GatewayUnavailable(f"the gateway refused our key: {error}") from None
    except stripe.StripeError as error:
        raise GatewayRefused(str(error), code=error.code, status=error.http_status) from None
    # A ``StripeResponse``: its JSON, parsed.
    return Intent.from_object(found.data)
