"""A payment gateway on this machine: the subset of Stripe's HTTP API that the Payment
service's adapter uses, for ``lms run`` and the tests.

The official ``stripe`` library talks to it unchanged (its API base pointed here):
PaymentIntents are created, confirmed, read and cancelled with form-encoded requests and
a secret key, and answered with Stripe's JSON and errors. Outcomes follow Stripe's test
payment methods:

- ``pm_card_visa`` (also ``pm_card_mastercard``, ``pm_card_amex``): succeeds;
- ``pm_card_chargeDeclined``: declined, ``decline_code`` ``generic_decline``
  (``pm_card_chargeDeclinedInsufficientFunds``: ``insufficient_funds``);
- ``pm_card_authenticationRequired``: needs the customer's action (``requires_action``),
  settled later by ``POST /simulator/payment_intents/{id}/authenticate?outcome=succeed``
  (or ``fail``) -- the page ``GET`` of that address shows two buttons;
- any other ``pm_...``: ``resource_missing``, as Stripe answers an unknown payment method.

Like Stripe it honours ``Idempotency-Key``: the same key and the same request replay the
first answer (``Idempotent-Replayed: true``), other parameters are an ``idempotency_error``
(400), and a request while the first with that key runs gets 409. Each change of an intent
is sent as a webhook event, signed with the webhook secret in Stripe's scheme
(``Stripe-Signature: t=...,v1=...``), to the given target, with retries.

``GET /simulator/charges`` lists every charge made: a test can count them. State lives in
memory for the life of the process.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

logger = logging.getLogger("lms.gateway-simulator")

API_VERSION = "2025-01-01"
SUCCEEDING = frozenset({"pm_card_visa", "pm_card_mastercard", "pm_card_amex"})
DECLINING = {
    "pm_card_chargeDeclined": "generic_decline",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
}
NEEDS_ACTION = frozenset({"pm_card_authenticationRequired"})
WEBHOOK_ATTEMPTS = 5

# A webhook target: a URL, or a callable (payload, signature) -> HTTP status (tests).
WebhookTarget = str | Callable[[str, str], int] | None


class ApiError(Exception):
    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.status = status
        self.error = error


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header of ``payload``: HMAC-SHA256 of ``"{t}.{payload}"``."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def parse_form(text: str) -> dict[str, Any]:
    """Stripe's form encoding (``metadata[k]=v``, ``list[0]=v``) as nested values."""
    result: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    for name, value in list(result.items()):
        if isinstance(value, dict) and value and all(k.isdigit() for k in value):
            result[name] = [value[k] for k in sorted(value, key=int)]
    return result


@dataclass
class _Keyed:
    fingerprint: str
    status: int | None = None
    body: str | None = None


@dataclass
class State:
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    keys: dict[str, _Keyed] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class GatewaySimulator:
    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str,
        webhook: WebhookTarget = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.webhook = webhook
        self.state = State()
        # Webhooks wait here while paused (tests of what happens without them).
        self.webhooks_paused = threading.Event()
        self._outbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        handler = type("SimulatorHandler", (_Handler,), {"simulator": self})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> GatewaySimulator:
        serving = threading.Thread(
            target=self.server.serve_forever, name="gateway-simulator", daemon=True
        )
        sending = threading.Thread(
            target=self._send_webhooks, name="simulator-webhooks", daemon=True
        )
        self._threads = [serving, sending]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._outbox.put(None)
        for thread in self._threads:
            thread.join(timeout=5)

    # --- what tests look at --------------------------------------------------------------

    def charges_for(self, intent_id: str) -> list[dict[str, Any]]:
        with self.state.lock:
            return [c for c in self.state.charges if c["payment_intent"] == intent_id]

    def signed(self, event: dict[str, Any], timestamp: int | None = None) -> tuple[str, str]:
        """An event's payload and its ``Stripe-Signature`` header."""
        payload = json.dumps(event)
        return payload, sign(payload, self.webhook_secret, timestamp)

    # --- the API ---------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: str) -> tuple[int, str]:
        """One request: (status, JSON text). Keyed requests are answered once per key."""
        if path.startswith("/simulator/"):
            return self._simulator(method, path, body)
        if headers.get("authorization", "") != f"Bearer {self.secret_key}":
            raise ApiError(
                401,
                {"type": "invalid_request_error", "message": "Invalid API Key provided"},
            )
        key = headers.get("idempotency-key") if method == "POST" else None
        if key is None:
            return 200, json.dumps(self._route(method, path, parse_form(body)))
        fingerprint = hashlib.sha256(f"{method} {path} {body}".encode()).hexdigest()
        with self.state.lock:
            found = self.state.keys.get(key)
            if found is None:
                self.state.keys[key] = _Keyed(fingerprint)
        if found is not None:
            if found.fingerprint != fingerprint:
                raise ApiError(
                    400,
                    {
                        "type": "idempotency_error",
                        "message": "Keys for idempotent requests can only be used with the "
                        "same parameters they were first used with.",
                    },
                )
            if found.status is None:
                raise ApiError(
                    409,
                    {
                        "type": "idempotency_error",
                        "message": "There is currently another in-progress request using "
                        "this Idempotent Key.",
                    },
                )
            assert found.body is not None
            return -found.status, found.body  # negative: a replay
        try:
            status, text = 200, json.dumps(self._route(method, path, parse_form(body)))
        except ApiError as error:
            status, text = error.status, json.dumps({"error": error.error})
        with self.state.lock:
            self.state.keys[key].status, self.state.keys[key].body = status, text
        return status, text

    def _route(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        parts = path.strip("/").split("/")
        if parts[:2] != ["v1", "payment_intents"]:
            raise _unrecognized(method, path)
        if method == "POST" and len(parts) == 2:
            return self._create(params)
        if len(parts) < 3:
            raise _unrecognized(method, path)
        intent_id = parts[2]
        if method == "GET" and len(parts) == 3:
            return self._intent(intent_id)
        if method == "POST" and parts[3:] == ["confirm"]:
            return self._confirm(intent_id, params)
        if method == "POST" and parts[3:] == ["cancel"]:
            return self._cancel(intent_id, params)
        raise ApiError(
            404, {"type": "invalid_request_error", "message": "Unrecognized request URL"}
        )

    def _intent(self, intent_id: str) -> dict[str, Any]:
        with self.state.lock:
            found = self.state.intents.get(intent_id)
            if found is None:
                raise ApiError(
                    404,
                    {
                        "type": "invalid_request_error",
                        "code": "resource_missing",
                        "param": "intent",
                        "message": f"No such payment_intent: '{intent_id}'",
                    },
                )
            copy: dict[str, Any] = json.loads(json.dumps(found))
            return copy

    def _create(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            amount = int(params["amount"])
            currency = str(params["currency"]).lower()
        except (KeyError, ValueError):
            raise ApiError(
                400,
                {"type": "invalid_request_error", "code": "parameter_missing", "param": "amount",
                 "message": "Missing required param: amount."},
            ) from None  # fmt: skip
        if amount < 1:
            raise ApiError(
                400,
                {"type": "invalid_request_error", "code": "amount_too_small", "param": "amount",
                 "message": "Amount must be at least 1."},
            )  # fmt: skip
        intent_id = "pi_" + secrets.token_hex(12)
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "currency": currency,
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
            "metadata": params.get("metadata") or {},
            "payment_method_types": params.get("payment_method_types") or ["card"],
            "payment_method": None,
            "last_payment_error": None,
            "next_action": None,
            "latest_charge": None,
            "cancellation_reason": None,
            "created": int(time.time()),
            "livemode": False,
        }
        with self.state.lock:
            self.state.intents[intent_id] = intent
        return self._intent(intent_id)

    def _confirm(self, intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
        method = str(params.get("payment_method") or "")
        with self.state.lock:
            intent = self.state.intents.get(intent_id)
            if intent is None:
                pass
            elif intent["status"] not in ("requires_payment_method", "requires_confirmation"):
                raise ApiError(
                    400,
                    {
                        "type": "invalid_request_error",
                        "code": "payment_intent_unexpected_state",
                        "message": "This PaymentIntent's status is "
                        f"{intent['status']}: it cannot be confirmed.",
                        "payment_intent": json.loads(json.dumps(intent)),
                    },
                )
            elif method in SUCCEEDING:
                intent["payment_method"] = method
                self._succeed(intent)
            elif method in DECLINING:
                intent["payment_method"] = method
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": DECLINING[method],
                    "message": "Your card was declined."
                    if DECLINING[method] == "generic_decline"
                    else "Your card has insufficient funds.",
                }
                self._event("payment_intent.payment_failed", intent)
                snapshot = json.loads(json.dumps(intent))
                raise ApiError(402, {**intent["last_payment_error"], "payment_intent": snapshot})
            elif method in NEEDS_ACTION:
                intent["payment_method"] = method
                intent["status"] = "requires_action"
                intent["next_action"] = {
                    "type": "redirect_to_url",
                    "redirect_to_url": {
                        "url": f"{self.url}/simulator/payment_intents/{intent_id}/authenticate",
                        "return_url": None,
                    },
                }
                self._event("payment_intent.requires_action", intent)
            else:
                raise ApiError(
                    400,
                    {
                        "type": "invalid_request_error",
                        "code": "resource_missing",
                        "param": "payment_method",
                        "message": f"No such PaymentMethod: '{method}'",
                    },
                )
        return self._intent(intent_id)

    def _succeed(self, intent: dict[str, Any]) -> None:
        charge = {
            "id": "ch_" + secrets.token_hex(12),
            "payment_intent": intent["id"],
            "amount": intent["amount"],
            "currency": intent["currency"],
            "created": int(time.time()),
        }
        self.state.charges.append(charge)
        intent.update(
            status="succeeded",
            amount_received=intent["amount"],
            latest_charge=charge["id"],
            next_action=None,
            last_payment_error=None,
        )
        self._event("payment_intent.succeeded", intent)

    def _cancel(self, intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
        self._intent(intent_id)
        with self.state.lock:
            intent = self.state.intents[intent_id]
            if intent["status"] not in (
                "requires_payment_method",
                "requires_confirmation",
                "requires_action",
            ):
                raise ApiError(
                    400,
                    {
                        "type": "invalid_request_error",
                        "code": "payment_intent_unexpected_state",
                        "message": f"You cannot cancel this PaymentIntent because it has a "
                        f"status of {intent['status']}.",
                    },
                )
            intent.update(
                status="canceled",
                next_action=None,
                cancellation_reason=params.get("cancellation_reason") or "requested_by_customer",
            )
            self._event("payment_intent.canceled", intent)
        return self._intent(intent_id)

    # --- the customer's side (not Stripe's API) ------------------------------------------------

    def _simulator(self, method: str, path: str, body: str) -> tuple[int, str]:
        parts = path.split("?", 1)[0].strip("/").split("/")
        query = dict(urllib.parse.parse_qsl(path.split("?", 1)[1])) if "?" in path else {}
        if parts == ["simulator", "charges"] and method == "GET":
            with self.state.lock:
                return 200, json.dumps({"charges": list(self.state.charges)})
        if len(parts) == 4 and parts[:2] == ["simulator", "payment_intents"]:
            if parts[3] == "authenticate" and method == "POST":
                outcome = query.get("outcome") or parse_form(body).get("outcome") or "succeed"
                return 200, json.dumps(self.authenticate(parts[2], succeed=outcome != "fail"))
            if parts[3] == "authenticate" and method == "GET":
                return -1, _AUTH_PAGE.replace("{id}", parts[2])  # HTML
        raise ApiError(404, {"type": "invalid_request_error", "message": "no such page"})

    def authenticate(self, intent_id: str, *, succeed: bool) -> dict[str, Any]:
        """The customer completes (or fails) the action the intent waits for."""
        self._intent(intent_id)
        with self.state.lock:
            intent = self.state.intents[intent_id]
            if intent["status"] != "requires_action":
                raise ApiError(
                    400,
                    {
                        "type": "invalid_request_error",
                        "code": "payment_intent_unexpected_state",
                        "message": f"the intent is {intent['status']}, not requires_action",
                    },
                )
            if succeed:
                self._succeed(intent)
            else:
                intent.update(
                    status="requires_payment_method",
                    next_action=None,
                    last_payment_error={
                        "type": "card_error",
                        "code": "payment_intent_authentication_failure",
                        "message": "The provided PaymentMethod has failed authentication.",
                    },
                )
                self._event("payment_intent.payment_failed", intent)
        return self._intent(intent_id)

    # --- webhooks -------------------------------------------------------------------------

    def _event(self, kind: str, intent: dict[str, Any]) -> None:
        """Called with the state lock held: the event is made now, sent later."""
        event = {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": API_VERSION,
            "type": kind,
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "data": {"object": json.loads(json.dumps(intent))},
        }
        self.state.events.append(event)
        self._outbox.put(event)

    def _send_webhooks(self) -> None:
        while True:
            event = self._outbox.get()
            if event is None:
                return
            while self.webhooks_paused.is_set():
                time.sleep(0.05)
            if self.webhook is not None:
                self._deliver(event)

    def _deliver(self, event: dict[str, Any]) -> None:
        for attempt in range(WEBHOOK_ATTEMPTS):
            payload, signature = self.signed(event)
            try:
                status = self._post(payload, signature)
            except Exception as error:  # the target is down: try again
                logger.debug("webhook %s not delivered: %s", event["id"], error)
                status = 0
            if 200 <= status < 300:
                return
            time.sleep(min(2.0, 0.1 * 2**attempt))
        logger.warning(
            "webhook %s (%s) given up after %d attempts",
            event["id"],
            event["type"],
            WEBHOOK_ATTEMPTS,
        )

    def _post(self, payload: str, signature: str) -> int:
        if callable(self.webhook):
            return self.webhook(payload, signature)
        assert isinstance(self.webhook, str)
        request = urllib.request.Request(  # noqa: S310 (a local URL this runtime serves)
            self.webhook,
            data=payload.encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Stripe-Signature": signature},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)


def _unrecognized(method: str, path: str) -> ApiError:
    return ApiError(
        404,
        {
            "type": "invalid_request_error",
            "message": f"Unrecognized request URL ({method}: {path})",
        },
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The headers and the body leave in two writes: with Nagle's algorithm on, the body
    # waits for the client's delayed ACK of the headers, ~40 ms on every request after the
    # first on a kept connection, a stall Stripe's API does not have.
    disable_nagle_algorithm = True
    simulator: GatewaySimulator

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        headers = {k.lower(): v for k, v in self.headers.items()}
        content_type = "application/json"
        replayed = False
        try:
            status, text = self.simulator.handle(self.command, self.path, headers, body)
            if status == -1:
                status, content_type = 200, "text/html; charset=utf-8"
            elif status < 0:
                status, replayed = -status, True
        except ApiError as error:
            status, text = error.status, json.dumps({"error": error.error})
        except Exception:
            logger.exception("simulator failed on %s %s", self.command, self.path)
            status, text = 500, json.dumps({"error": {"type": "api_error", "message": "simulator"}})
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", "req_" + secrets.token_hex(8))
        if replayed:
            self.send_header("Idempotent-Replayed", "true")
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _serve


_AUTH_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Authenticate payment</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 4em auto">
<h1>Authenticate this payment</h1>
<p>The gateway simulator stands in for the card issuer's 3-D Secure page of {id}.</p>
<form method="post" action="/simulator/payment_intents/{id}/authenticate?outcome=succeed">
<button type="submit">Complete authentication</button></form>
<form method="post" action="/simulator/payment_intents/{id}/authenticate?outcome=fail">
<button type="submit">Fail authentication</button></form>
</body></html>
"""
