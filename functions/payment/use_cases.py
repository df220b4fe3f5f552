"""The Payment service's use cases: each one unit of work, its events in the same
transaction.

Never charged twice (the rule, and how it holds):

- A payment row is made, under the invoice's lock, before the gateway is called; the
  database allows one payment in flight per invoice (a partial unique index) and an
  invoice is paid once (``OPEN`` -> ``PAID`` only). A second payment of the same invoice,
  whatever its key, is refused (409) while the first is in flight or once it is paid.
- The gateway calls carry keys made from the payment's own ``idempotency_key``: its
  PaymentIntent is created under that key and confirmed under that key + ``:confirm``.
  Asking again -- a client's retry with the same ``Idempotency-Key``, the reconciliation
  job -- gets the same PaymentIntent and the same confirmation, never a new charge.
- The PaymentIntent's id is stored before it is confirmed, so a payment whose function
  died after confirming can always be asked about (``reconcile``).

A payment's status only moves forward: PROCESSING and REQUIRES_ACTION are in flight;
SUCCEEDED and FAILED are final, except that a success reported after a failure wins (the
money was taken). The synchronous answer, the gateway's webhooks and the reconciliation
job all apply what they learn through ``apply_intent``, in any order, any number of
times: a late ``payment_failed`` never moves a PAID invoice back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pg8000.exceptions import DatabaseError

from functions.payment import idempotency, money, store
from functions.payment.gateway import (
    INTENT_EVENTS,
    REQUIRES_ACTION,
    GatewayRefused,
    GatewayUnavailable,
    Intent,
    InvalidSignature,
    gateway,
)
from functions.payment.models import (
    CreateInvoice,
    CreatePlan,
    Invoice,
    InvoiceDetail,
    InvoicePage,
    PayInvoice,
    Payment,
    PaymentOutcome,
    Plan,
    PlanPage,
    UpdatePlan,
)
from lms_events import payment as events
from lms_platform import observability
from lms_platform.db import Row, UnitOfWork, is_unique_violation
from lms_platform.http import (
    BadRequest,
    Conflict,
    Invalid,
    NotFound,
    PaymentRequired,
    Principal,
    Response,
    ServiceUnavailable,
    require_role,
)
from lms_platform.pagination import keyset_after, keyset_page

logger = logging.getLogger(__name__)

DUE_DAYS = 7
# A payment in PROCESSING untouched this long has lost its request (a route runs 10 s at
# most, a retry's lease lasts 30 s): the reconciliation job asks the gateway about it.
STALE_SECONDS = 120
# How long the customer has for an action the gateway asks for (3-D Secure), after which
# the PaymentIntent is cancelled and the invoice may be paid another way.
ACTION_TIMEOUT_SECONDS = 3600
# Gateway events are kept as long as the gateway may still resend them (Stripe: 3 days).
GATEWAY_EVENTS_KEPT_DAYS = 30
SWEEP_BATCH = 1000

LIVE = ("PROCESSING", "REQUIRES_ACTION")
PAY_OPERATION = "POST /invoices/{invoiceId}/payments"


class PlanNotFound(NotFound):
    title = "Plan not found"


class InvoiceNotFound(NotFound):
    title = "Invoice not found"


class InvoiceAlreadyPaid(Conflict):
    title = "Invoice already paid"


class InvoiceNotOpen(Conflict):
    title = "Invoice not open"


class PaymentInProgress(Conflict):
    title = "Payment in progress"


class PaymentDeclined(PaymentRequired):
    title = "Payment declined"


class GatewayDown(ServiceUnavailable):
    title = "Payment gateway unavailable"


class BadSignature(BadRequest):
    title = "Invalid signature"


# --- rows to bodies -------------------------------------------------------------------------


def _plan(row: Row) -> Plan:
    return Plan(
        id=row["id"],
        name=row["name"],
        price=money.format_amount(row["price"], row["currency"]),
        currency=row["currency"],
        interval=row["interval"],
        features=list(row["features"] or []),
        status=row["status"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _invoice_fields(row: Row) -> dict[str, Any]:
    return {
        **{k: row[k] for k in Invoice.model_fields if k != "amount"},
        "amount": money.format_amount(row["amount"], row["currency"]),
    }


def _invoice(row: Row) -> Invoice:
    return Invoice(**_invoice_fields(row))


def _payment(row: Row) -> Payment:
    return Payment(
        **{k: row[k] for k in Payment.model_fields if k != "amount"},
        amount=money.format_amount(Decimal(str(row["amount"])), row["currency"]),
    )


def _exact(amount: Decimal, currency: str) -> Decimal:
    """The amount with exactly its currency's decimals (the column keeps four)."""
    return Decimal(money.format_amount(amount, currency))


def _payment_from_json(item: dict[str, Any]) -> Payment:
    """From the database's JSON of a payment (camelCase keys, the amount as text)."""
    amount = money.format_amount(Decimal(str(item["amount"])), item["currency"])
    return Payment.model_validate({**item, "amount": amount})


# --- plans ----------------------------------------------------------------------------------


def create_plan(body: CreatePlan) -> Plan:
    require_role("ADMIN")

    def work(uow: UnitOfWork) -> Plan:
        row = uow.fetch_one(
            store.CREATE_PLAN,
            id=uuid.uuid4(),
            name=body.name,
            price=money.parse_amount(body.price, body.currency),
            currency=body.currency,
            interval=body.interval,
            features=json.dumps(body.features),
        )
        uow.commit()
        assert row is not None
        return _plan(row)

    return store.db().transaction(work)


def update_plan(plan_id: uuid.UUID, body: UpdatePlan) -> Plan:
    """Changes apply to invoices made afterwards; a price that does not fit the (new)
    currency is refused naming ``price``."""
    require_role("ADMIN")

    def work(uow: UnitOfWork) -> Plan:
        plan = uow.fetch_one(store.LOCK_PLAN, id=plan_id)
        if plan is None:
            raise PlanNotFound(f"no plan {plan_id}")
        currency = body.currency or plan["currency"]
        try:
            price = (
                money.parse_amount(body.price, currency)
                if body.price is not None
                else money.parse_amount(str(plan["price"].normalize()), currency)
            )
        except money.MoneyError as error:
            raise Invalid(
                [{"location": ["body", "price"], "message": str(error), "type": "value_error"}]
            ) from None
        row = uow.fetch_one(
            store.UPDATE_PLAN,
            id=plan_id,
            name=body.name or plan["name"],
            price=price,
            currency=currency,
            interval=body.interval or plan["interval"],
            features=json.dumps(body.features if body.features is not None else plan["features"]),
        )
        uow.commit()
        assert row is not None
        return _plan(row)

    return store.db().transaction(work)


def archive_plan(plan_id: uuid.UUID) -> Plan:
    """No new invoice can be made for an archived plan; its invoices stay payable."""
    require_role("ADMIN")

    def work(uow: UnitOfWork) -> Plan:
        row = uow.fetch_one(store.ARCHIVE_PLAN, id=plan_id)
        if row is None:
            raise PlanNotFound(f"no plan {plan_id}")
        uow.commit()
        return _plan(row)

    return store.db().transaction(work)


PLANS_SCOPE = "plans"


def active_plans(*, limit: int, cursor: str | None) -> PlanPage:
    """The active plans, newest first: one statement at any depth."""
    after = keyset_after(PLANS_SCOPE, cursor, "created_at")
    sql = store.ACTIVE_PLANS_AFTER if after else store.ACTIVE_PLANS
    rows = store.db().read(sql, limit=limit + 1, **after)
    page, next_cursor = keyset_page(rows, limit, PLANS_SCOPE, "created_at")
    return PlanPage(items=[_plan(r) for r in page], next_cursor=next_cursor)


# --- invoices -------------------------------------------------------------------------------


def create_invoice(caller: Principal, body: CreateInvoice) -> Invoice:
    """An OPEN invoice for an active plan, with the plan's price and currency, due in 7
    days."""

    def work(uow: UnitOfWork) -> Invoice:
        plan = uow.fetch_one(store.PLAN_FOR_INVOICE, id=body.plan_id)
        if plan is None or plan["status"] != "ACTIVE":
            raise PlanNotFound(f"no active plan {body.plan_id}")
        row = uow.fetch_one(
            store.CREATE_INVOICE,
            id=uuid.uuid4(),
            user_id=caller.user_id,
            plan_id=plan["id"],
            plan_name=plan["name"],
            plan_interval=plan["interval"],
            amount=plan["price"],
            currency=plan["currency"],
            due_days=DUE_DAYS,
        )
        assert row is not None
        uow.outbox.add(
            events.InvoiceCreated(
                invoice_id=row["id"],
                user_id=row["user_id"],
                plan_id=row["plan_id"],
                plan_interval=row["plan_interval"],
                amount=_exact(row["amount"], row["currency"]),
                currency=row["currency"],
                due_at=row["due_at"],
                created_at=row["created_at"],
            ),
            aggregate_id=row["id"],
        )
        uow.commit()
        return _invoice(row)

    invoice = store.db().transaction(work)
    observability.count("InvoicesCreated")
    return invoice


def get_invoice(caller: Principal, invoice_id: uuid.UUID) -> InvoiceDetail:
    """One statement; its user and admins see it, anyone else gets 404."""
    row = store.db().read_one(store.INVOICE_DETAIL, id=invoice_id)
    if row is None or not (row["user_id"] == caller.user_id or caller.is_admin):
        raise InvoiceNotFound(f"no invoice {invoice_id}")
    return InvoiceDetail(
        **_invoice_fields(row), payments=[_payment_from_json(p) for p in row["payments"]]
    )


def my_invoices(
    caller: Principal, *, status: str | None, limit: int, cursor: str | None
) -> InvoicePage:
    """The caller's invoices, newest first: one statement at any depth."""
    scope = f"me/invoices?status={status or ''}"
    params: dict[str, Any] = {"user_id": caller.user_id, "limit": limit + 1}
    if status:
        params["status"] = status
    if after := keyset_after(scope, cursor, "created_at"):
        params.update(after)
        sql = store.MY_INVOICES_BY_STATUS_AFTER if status else store.MY_INVOICES_AFTER
    else:
        sql = store.MY_INVOICES_BY_STATUS if status else store.MY_INVOICES
    page, next_cursor = keyset_page(store.db().read(sql, **params), limit, scope, "created_at")
    return InvoicePage(items=[_invoice(r) for r in page], next_cursor=next_cursor)


def void_invoice(caller: Principal, invoice_id: uuid.UUID) -> Invoice:
    """Its user voids an OPEN invoice, as may an admin; a repeat changes nothing. A paid
    invoice is never voided (that would need a refund), nor one being paid."""

    def work(uow: UnitOfWork) -> Invoice:
        invoice = uow.fetch_one(store.LOCK_INVOICE, id=invoice_id)
        if invoice is None or not (invoice["user_id"] == caller.user_id or caller.is_admin):
            raise InvoiceNotFound(f"no invoice {invoice_id}")
        if invoice["status"] == "VOID":
            uow.commit()
            return _invoice(invoice)
        if invoice["status"] == "PAID":
            raise InvoiceNotOpen("a paid invoice cannot be voided")
        if _payment_in_progress(uow, invoice_id):
            raise PaymentInProgress("a payment of this invoice is in progress")
        row = uow.fetch_one(store.VOID_INVOICE, id=invoice_id, voided_by=caller.user_id)
        assert row is not None
        uow.outbox.add(
            events.InvoiceVoided(
                invoice_id=row["id"],
                user_id=row["user_id"],
                voided_by=caller.user_id,
                voided_at=row["voided_at"],
            ),
            aggregate_id=row["id"],
        )
        uow.commit()
        return _invoice(row)

    return store.db().transaction(work)


# --- paying ---------------------------------------------------------------------------------


def pay(caller: Principal, invoice_id: uuid.UUID, key: str, body: PayInvoice) -> Response:
    """Pay an invoice with a payment method, once, whatever the retries (module docstring).

    Answers: 201 paid; 202 the customer must act (or the gateway is still processing);
    402 declined (the invoice stays OPEN); 404 not the caller's invoice; 409 paid, void or
    another payment in flight; 503 no answer from the gateway (retry with the same key)."""
    database = store.db()
    print_ = idempotency.fingerprint(PAY_OPERATION, invoice_id, body.model_dump(mode="json"))

    def start(uow: UnitOfWork) -> Response | tuple[idempotency.Claim, Row]:
        found = idempotency.claim(uow, caller.user_id, key, print_)
        if isinstance(found, Response):
            return _committed(uow, found)
        held = found
        invoice = uow.fetch_one(store.LOCK_INVOICE, id=invoice_id)
        if invoice is None or invoice["user_id"] != caller.user_id:
            missing = InvoiceNotFound(f"no invoice {invoice_id}")
            return _committed(uow, idempotency.finish_problem(uow, held, missing))
        payment = (
            None
            if held.fresh
            else uow.fetch_one(store.RESUME_PAYMENT, idempotency_key=_payment_key(held))
        )
        if payment is not None:
            # A retry of a request that ended without a final answer: its payment goes on
            # where it stopped, or answers for what it has become meanwhile.
            if payment["status"] != "PROCESSING":
                return _committed(uow, _final(uow, held, payment, invoice))
        elif invoice["status"] == "PAID":
            paid = InvoiceAlreadyPaid("this invoice is paid", invoiceId=str(invoice_id))
            return _committed(uow, idempotency.finish_problem(uow, held, paid))
        elif invoice["status"] == "VOID":
            void = InvoiceNotOpen("this invoice is void", invoiceId=str(invoice_id))
            return _committed(uow, idempotency.finish_problem(uow, held, void))
        elif _payment_in_progress(uow, invoice_id):
            # Refused before doing anything: nothing is kept for the key (as the gateway's
            # own keys behave), so the same request may be sent again later.
            idempotency.forget(uow, held)
            uow.commit()
            raise PaymentInProgress(
                "another payment of this invoice is in progress", invoiceId=str(invoice_id)
            )
        else:
            payment = uow.fetch_one(
                store.START_PAYMENT,
                id=uuid.uuid4(),
                invoice_id=invoice_id,
                user_id=caller.user_id,
                idempotency_key=_payment_key(held),
                amount=invoice["amount"],
                currency=invoice["currency"],
                payment_method=body.payment_method,
            )
        uow.commit()
        assert payment is not None
        return held, payment

    try:
        started = database.transaction(start)
    except DatabaseError as error:
        if not is_unique_violation(error, "uq_payments_one_live_per_invoice"):
            raise
        # The database's own guard (one payment in flight per invoice); the key's claim was
        # rolled back with the rest.
        raise PaymentInProgress(
            "another payment of this invoice is in progress", invoiceId=str(invoice_id)
        ) from None
    if isinstance(started, Response):
        return started
    held, payment = started
    try:
        return _charge(held, payment)
    except GatewayUnavailable as error:
        logger.warning("payment gateway unavailable", extra={"error": str(error)})
        observability.count("GatewayUnavailable")
        _release(held)
        raise GatewayDown(
            "the payment gateway did not answer; retry with the same Idempotency-Key",
            retry_after=2,
        ) from None
    except BaseException:
        _release(held)
        raise


def _committed(uow: UnitOfWork, answer: Response) -> Response:
    uow.commit()
    return answer


def _payment_in_progress(uow: UnitOfWork, invoice_id: uuid.UUID) -> bool:
    found = uow.fetch_one(store.PAYMENT_IN_PROGRESS, invoice_id=invoice_id)
    return bool(found and found["found"])


def _payment_key(held: idempotency.Claim) -> str:
    """The payment's key, here and at the gateway: this use of the caller's key."""
    return f"lms-payment-{held.id}"


def _release(held: idempotency.Claim) -> None:
    # Best effort: if the database is gone too, the lease runs out by itself.
    with contextlib.suppress(Exception):
        idempotency.release(store.db(), held)


def _charge(held: idempotency.Claim, payment: Row) -> Response:
    """Create (once) and confirm (once) the payment's PaymentIntent; settle what it says."""
    database, gw = store.db(), gateway()
    gateway_id = payment["gateway_id"]
    if gateway_id is None:
        intent = gw.create_intent(
            amount=money.to_minor(payment["amount"], payment["currency"]),
            currency=payment["currency"],
            metadata={
                "payment_id": str(payment["id"]),
                "invoice_id": str(payment["invoice_id"]),
                "user_id": str(payment["user_id"]),
            },
            idempotency_key=payment["idempotency_key"],
        )
        database.execute(
            store.SET_GATEWAY_ID,
            id=payment["id"],
            gateway_id=intent.id,
            gateway_status=intent.status,
        )
        gateway_id = intent.id
    refusal: GatewayRefused | None = None
    try:
        intent = gw.confirm_intent(
            gateway_id,
            payment_method=payment["payment_method"],
            idempotency_key=payment["idempotency_key"] + ":confirm",
        )
    except GatewayRefused as refused:
        # Refused as asked (an unknown payment method), or because the intent has moved on
        # (confirmed long ago): what it is now decides.
        refusal = refused
        intent = gw.retrieve_intent(gateway_id)

    def settle(uow: UnitOfWork) -> Response:
        invoice, row = _lock(uow, payment["id"])
        if refusal is not None and intent.unconfirmed:
            row = _fail(uow, row, refusal.code or "refused", None, str(refusal))
        else:
            invoice, row = apply_intent(uow, invoice, row, intent)
        answer = _final(uow, held, row, invoice)
        uow.commit()
        return answer

    return database.transaction(settle)


def _lock(uow: UnitOfWork, payment_id: uuid.UUID) -> tuple[Row, Row]:
    invoice = uow.fetch_one(store.LOCK_INVOICE_OF_PAYMENT, payment_id=payment_id)
    payment = uow.fetch_one(store.LOCK_PAYMENT, id=payment_id)
    assert invoice is not None and payment is not None
    return invoice, payment


def _final(uow: UnitOfWork, held: idempotency.Claim, payment: Row, invoice: Row) -> Response:
    """The answer a payment's state gives, kept for its key."""
    if payment["status"] == "FAILED":
        return idempotency.finish_problem(
            uow,
            held,
            PaymentDeclined(
                payment["failure_message"] or "the payment was declined",
                declineCode=payment["decline_code"],
                failureCode=payment["failure_code"],
                paymentId=str(payment["id"]),
                invoiceId=str(payment["invoice_id"]),
            ),
        )
    outcome = PaymentOutcome(
        payment=_payment(payment),
        invoice=_invoice(invoice),
        client_secret=payment["client_secret"] if payment["status"] == "REQUIRES_ACTION" else None,
    )
    status = 201 if payment["status"] == "SUCCEEDED" else 202
    return idempotency.finish(uow, held, status, outcome.model_dump_json(by_alias=True))


def _target(intent: Intent) -> str | None:
    """The payment status a PaymentIntent's state means (None: not yet confirmed)."""
    if intent.status == "succeeded":
        return "SUCCEEDED"
    if intent.failed:
        return "FAILED"
    if intent.status == REQUIRES_ACTION:
        return "REQUIRES_ACTION"
    if intent.status == "processing":
        return "PROCESSING"
    return None


def apply_intent(
    uow: UnitOfWork, invoice: Row, payment: Row, intent: Intent, *, failure_code: str | None = None
) -> tuple[Row, Row]:
    """What the gateway says of a payment's intent, applied to the (locked) payment and its
    invoice, only forward (module docstring). The rows as they now are."""
    target = _target(intent)
    current = payment["status"]
    if target is None or current == "SUCCEEDED" or (current == "FAILED" and target != "SUCCEEDED"):
        return invoice, payment
    if target == "FAILED":
        code = failure_code or intent.failure_code or intent.status
        return invoice, _fail(uow, payment, code, intent.decline_code, intent.failure_message)
    updated = uow.fetch_one(
        store.SET_PAYMENT_STATE,
        id=payment["id"],
        status=target,
        gateway_status=intent.status,
        failure_code=None,
        decline_code=None,
        failure_message=None,
        next_action=json.dumps(intent.next_action) if target == "REQUIRES_ACTION" else None,
        client_secret=intent.client_secret,
    )
    assert updated is not None
    if target != "SUCCEEDED":
        return invoice, updated
    paid = uow.fetch_one(store.MARK_INVOICE_PAID, id=invoice["id"], payment_id=payment["id"])
    if paid is None:
        # The money was taken for an invoice that is already paid or void: someone must
        # refund it. It cannot happen through this service's own flow (one payment in flight
        # per invoice); it is shouted about rather than hidden.
        observability.count("PaymentsToRefund")
        observability.logger("payment").error(
            "a payment succeeded for an invoice that is not open: refund it",
            extra={"lms": {"paymentId": str(payment["id"]), "invoiceId": str(invoice["id"])}},
        )
        return invoice, updated
    observability.count("InvoicesPaid")
    uow.outbox.add(
        events.InvoicePaid(
            invoice_id=paid["id"],
            user_id=paid["user_id"],
            plan_id=paid["plan_id"],
            plan_interval=paid["plan_interval"],
            amount=_exact(paid["amount"], paid["currency"]),
            currency=paid["currency"],
            paid_at=paid["paid_at"],
            payment_id=payment["id"],
        ),
        aggregate_id=paid["id"],
    )
    return paid, updated


def _fail(
    uow: UnitOfWork, payment: Row, code: str, decline_code: str | None, message: str | None
) -> Row:
    failed = uow.fetch_one(
        store.SET_PAYMENT_STATE,
        id=payment["id"],
        status="FAILED",
        gateway_status=payment["gateway_status"],
        failure_code=code,
        decline_code=decline_code,
        failure_message=message,
        next_action=None,
        client_secret=None,
    )
    assert failed is not None
    observability.count("PaymentsFailed")
    uow.outbox.add(
        events.PaymentFailed(
            invoice_id=failed["invoice_id"],
            user_id=failed["user_id"],
            payment_id=failed["id"],
            amount=_exact(failed["amount"], failed["currency"]),
            currency=failed["currency"],
            failure_code=code,
            decline_code=decline_code,
            failed_at=failed["settled_at"] or datetime.now(UTC),
        ),
        aggregate_id=failed["invoice_id"],
    )
    return failed


# --- the gateway's webhooks -----------------------------------------------------------------


def receive_webhook(payload: str, signature: str | None) -> dict[str, str]:
    """A gateway event, verified (signature and a 5-minute tolerance) and applied once.
    Types not acted on are acknowledged; so are events about payments not ours."""
    try:
        event = gateway().verify_event(payload, signature)
    except InvalidSignature as error:
        raise BadSignature(f"the webhook's signature does not verify: {error}") from None

    def work(uow: UnitOfWork) -> str:
        fresh = uow.execute(
            store.RECEIVE_GATEWAY_EVENT,
            id=event.id,
            type=event.type,
            object_id=str(event.object.get("id")) if event.object.get("id") else None,
        )
        if not fresh:
            uow.commit()
            return "duplicate"
        outcome = "ignored"
        if event.type in INTENT_EVENTS:
            outcome = _apply_event(uow, event.object)
        uow.execute(store.SET_GATEWAY_EVENT_OUTCOME, id=event.id, outcome=outcome)
        uow.commit()
        return outcome

    outcome = store.db().transaction(work)
    observability.count(f"GatewayEvents{outcome.title().replace('_', '')}")
    return {"received": event.id, "outcome": outcome}


def _apply_event(uow: UnitOfWork, data: dict[str, Any]) -> str:
    try:
        intent = Intent.from_object(data)
    except (KeyError, TypeError, ValueError):
        return "malformed"
    found = uow.fetch_one(store.PAYMENT_BY_GATEWAY_ID, gateway_id=intent.id)
    payment_id = found["id"] if found else _uuid(intent.metadata.get("payment_id"))
    if payment_id is None:
        return "unknown_payment"
    invoice = uow.fetch_one(store.LOCK_INVOICE_OF_PAYMENT, payment_id=payment_id)
    payment = uow.fetch_one(store.LOCK_PAYMENT, id=payment_id)
    if invoice is None or payment is None:
        return "unknown_payment"
    if payment["gateway_id"] not in (None, intent.id):
        return "unknown_payment"
    _, after = apply_intent(uow, invoice, payment, intent)
    return "applied" if after is not payment else "stale"


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


# --- reconciliation -------------------------------------------------------------------------


def reconcile(
    *,
    stale_seconds: int = STALE_SECONDS,
    action_timeout_seconds: int = ACTION_TIMEOUT_SECONDS,
    batch: int = 100,
) -> dict[str, int]:
    """Settle payments left without an answer, by asking the gateway; forget expired
    idempotency keys and old gateway events. How many of each outcome."""
    database = store.db()
    rows = database.read(
        store.STUCK_PAYMENTS,
        stale=float(stale_seconds),
        action=float(max(stale_seconds, action_timeout_seconds)),
        batch=batch,
    )
    counts: Counter[str] = Counter()
    for row in rows:
        try:
            counts[_reconcile_one(row)] += 1
        except GatewayUnavailable:
            counts["gateway_unavailable"] += 1
        except GatewayRefused as refused:
            # The gateway does not know the intent (another account's key, a simulator
            # restarted): left for an operator, and said so.
            observability.logger("payment").error(
                "the gateway refused to tell about a payment",
                extra={"lms": {"paymentId": str(row["id"]), "error": str(refused)}},
            )
            counts["gateway_refused"] += 1
    counts["keys_forgotten"] = database.execute(store.SWEEP_KEYS, batch=SWEEP_BATCH)
    counts["gateway_events_forgotten"] = database.execute(
        store.SWEEP_GATEWAY_EVENTS, days=GATEWAY_EVENTS_KEPT_DAYS, batch=SWEEP_BATCH
    )
    for outcome, count in counts.items():
        if count and outcome not in ("keys_forgotten", "gateway_events_forgotten"):
            observability.count(f"PaymentsReconciled{outcome.title().replace('_', '')}", count)
    return dict(counts)


def _reconcile_one(stuck: Row) -> str:
    gw = gateway()
    intent: Intent | None = None
    failure_code = None
    if stuck["gateway_id"] is not None:
        intent = gw.retrieve_intent(stuck["gateway_id"])
        overdue_action = stuck["status"] == "REQUIRES_ACTION" and intent.status == REQUIRES_ACTION
        if intent.unconfirmed or overdue_action:
            # Never confirmed (its request died before), or the customer never acted:
            # cancelled, so that nothing can be charged for it any more.
            failure_code = "authentication_not_completed" if overdue_action else "abandoned"
            try:
                intent = gw.cancel_intent(
                    stuck["gateway_id"], idempotency_key=stuck["idempotency_key"] + ":cancel"
                )
            except GatewayRefused:
                intent = gw.retrieve_intent(stuck["gateway_id"])  # it moved on meanwhile

    def work(uow: UnitOfWork) -> str:
        invoice, payment = _lock(uow, stuck["id"])
        if payment["updated_at"] != stuck["updated_at"] or payment["status"] not in LIVE:
            uow.commit()
            return "busy"  # a retry or a webhook took it up meanwhile
        if intent is None:
            # No PaymentIntent was ever stored, so none was confirmed: nothing was charged.
            _fail(uow, payment, "abandoned", None, "the payment was not completed")
            outcome = "failed"
        else:
            _, after = apply_intent(uow, invoice, payment, intent, failure_code=failure_code)
            outcome = after["status"].lower() if after is not payment else "unchanged"
        uow.commit()
        return outcome

    return store.db().transaction(work)
