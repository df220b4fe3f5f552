"""The Stripe adapter sends each PaymentIntents request through ``raw_request`` exactly as
the library's typed service (``client.v1.payment_intents``) would: method, path, form body,
idempotency key and headers."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any

import pytest

from functions.payment.stripe_gateway import (
    AUTOMATIC_PAYMENT_METHODS,
    TIMEOUT_SECONDS,
    StripeGateway,
    _http_client,
    _stripe,
)
from lms_local.gateway_simulator import GatewaySimulator

# Headers that differ between any two clients or requests of one process (the previous
# request's duration, a client's own telemetry id) are left out.
VARYING = {"x-stripe-client-telemetry", "x-stripe-client-user-agent"}


@pytest.fixture
def simulator() -> Iterator[GatewaySimulator]:
    running = GatewaySimulator(secret_key="sk_test_wire", webhook_secret="whsec_wire").start()
    yield running
    running.stop()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    seen: list[tuple[Any, ...]] = []
    request = http.client.HTTPConnection.request

    def recorded(
        self: http.client.HTTPConnection, method: str, url: str, *args: Any, **kwargs: Any
    ) -> None:
        headers = {
            k.lower(): v for k, v in kwargs.get("headers", {}).items() if k.lower() not in VARYING
        }
        seen.append((method, url, kwargs.get("body"), headers))
        request(self, method, url, *args, **kwargs)

    monkeypatch.setattr(http.client.HTTPConnection, "request", recorded)
    return seen


def test_each_request_is_the_one_the_typed_service_sends(
    simulator: GatewaySimulator, sent: list[tuple[Any, ...]]
) -> None:
    # Given the adapter and the library's typed service, each on its own intent
    adapter = StripeGateway(simulator.secret_key, simulator.webhook_secret, simulator.url)
    typed = (
        _stripe()
        .StripeClient(
            simulator.secret_key,
            base_addresses={"api": simulator.url},
            max_network_retries=0,
            http_client=_http_client(TIMEOUT_SECONDS),
        )
        .v1.payment_intents
    )
    metadata = {"payment_id": "p-1", "invoice_id": "i-1"}

    # When each makes the same calls
    mine = adapter.create_intent(
        amount=1990, currency="USD", metadata=metadata, idempotency_key="k"
    )
    adapter.confirm_intent(mine.id, payment_method="pm_card_visa", idempotency_key="k:confirm")
    adapter.retrieve_intent(mine.id)
    other = adapter.create_intent(amount=5, currency="usd", metadata={}, idempotency_key="c")
    adapter.cancel_intent(other.id, idempotency_key="c:cancel")
    by_adapter, sent[:] = list(sent), []

    theirs = typed.create(
        params={
            "amount": 1990,
            "currency": "usd",
            "metadata": metadata,
            "automatic_payment_methods": AUTOMATIC_PAYMENT_METHODS,
        },
        options={"idempotency_key": "k2"},
    )
    typed.confirm(
        theirs.id,
        params={"payment_method": "pm_card_visa"},
        options={"idempotency_key": "k2:confirm"},
    )
    typed.retrieve(theirs.id)
    spare = typed.create(
        params={
            "amount": 5,
            "currency": "usd",
            "metadata": {},
            "automatic_payment_methods": AUTOMATIC_PAYMENT_METHODS,
        },
        options={"idempotency_key": "c2"},
    )
    typed.cancel(spare.id, options={"idempotency_key": "c2:cancel"})

    # Then the requests are the same but for the ids and keys each was given
    def named(
        requests: list[tuple[Any, ...]], ids: dict[str, str], keys: dict[str, str]
    ) -> list[tuple[Any, ...]]:
        found = []
        for method, url, body, headers in requests:
            for given, name in ids.items():
                url = url.replace(given, name)
            key = headers.pop("idempotency-key", None)
            found.append((method, url, body, headers, keys.get(key, key)))
        return found

    assert len(by_adapter) == 5
    assert named(
        by_adapter,
        {mine.id: "A", other.id: "B"},
        {"k": "K", "k:confirm": "K:c", "c": "C", "c:cancel": "C:c"},
    ) == named(
        sent,
        {theirs.id: "A", spare.id: "B"},
        {"k2": "K", "k2:confirm": "K:c", "c2": "C", "c2:cancel": "C:c"},
    )
