"""The Payment service's SQL. Each read is one statement (one round trip once prepared).

Locks are taken in one order everywhere -- an invoice, then its payments -- so that a
payment, a webhook, the reconciliation job and a void never wait on each other in a
circle. Amounts are ``numeric``; inside JSON built by the database they are cast to text,
so that no amount is ever read back as a float.
"""

from __future__ import annotations

from lms_platform.db import Database, database

ROLE = "lms_payment"


def db() -> Database:
    return database(ROLE)


# --- plans ------------------------------------------------------------------------------------

_PLAN = "id, name, price, currency, interval, features, status, created_at, updated_at"

CREATE_PLAN = f"""
INSERT INTO plans (id, name, price, currency, interval, features)
VALUES (:id, :name, :price, :currency, :interval, CAST(:features AS jsonb))
RETURNING {_PLAN}
"""

LOCK_PLAN = f"SELECT {_PLAN} FROM plans WHERE id = :id FOR UPDATE"

UPDATE_PLAN = f"""
UPDATE plans SET name = :name, price = :price, currency = :currency, interval = :interval,
  features = CAST(:features AS jsonb), updated_at = now()
WHERE id = :id
RETURNING {_PLAN}
"""

# A repeat changes nothing (the row, its updated_at) and still answers the plan.
ARCHIVE_PLAN = f"""
WITH archived AS (
  UPDATE plans SET status = 'ARCHIVED', updated_at = now()
  WHERE id = :id AND status <> 'ARCHIVED'
  RETURNING {_PLAN}
)
SELECT {_PLAN} FROM archived
UNION ALL
SELECT {_PLAN} FROM plans WHERE id = :id AND NOT EXISTS (SELECT 1 FROM archived)
"""

# Keyset pages of the active plans, newest first, on the partial index of active plans.
_ACTIVE_PLANS = f"""
SELECT {_PLAN} FROM plans
WHERE status = 'ACTIVE' {{after}}
ORDER BY created_at DESC, id DESC
LIMIT :limit
"""
_PLAN_AFTER = "AND (created_at, id) < (CAST(:created_at AS timestamptz), CAST(:after_id AS uuid))"
ACTIVE_PLANS = _ACTIVE_PLANS.format(after="")
ACTIVE_PLANS_AFTER = _ACTIVE_PLANS.format(after=_PLAN_AFTER)

# --- invoices -----------------------------------------------------------------------------

_INVOICE = (
    "i.id, i.user_id, i.plan_id, i.plan_name, i.plan_interval, i.amount, i.currency, i.status, "
    "i.due_at, i.paid_at, i.paid_by, i.voided_at, i.created_at, i.updated_at"
)

PLAN_FOR_INVOICE = "SELECT id, name, price, currency, interval, status FROM plans WHERE id = :id"

CREATE_INVOICE = f"""
INSERT INTO invoices AS i (id, user_id, plan_id, plan_name, plan_interval, amount, currency,
  due_at)
VALUES (:id, :user_id, :plan_id, :plan_name, :plan_interval, :amount, :currency,
  now() + make_interval(days => :due_days))
RETURNING {_INVOICE}
"""

_PAYMENT_JSON = """json_build_object(
  'id', p.id, 'invoiceId', p.invoice_id, 'status', p.status, 'amount', p.amount::text,
  'currency', p.currency, 'paymentMethod', p.payment_method, 'gatewayId', p.gateway_id,
  'gatewayStatus', p.gateway_status, 'failureCode', p.failure_code,
  'declineCode', p.decline_code, 'failureMessage', p.failure_message,
  'nextAction', p.next_action, 'createdAt', p.created_at, 'updatedAt', p.updated_at)"""

# One invoice with every attempt to pay it, newest first.
INVOICE_DETAIL = f"""
SELECT {_INVOICE},
  COALESCE((SELECT json_agg({_PAYMENT_JSON} ORDER BY p.created_at DESC, p.id DESC)
            FROM payments p WHERE p.invoice_id = i.id), '[]') AS payments
FROM invoices i WHERE i.id = :id
"""

LOCK_INVOICE = f"SELECT {_INVOICE} FROM invoices i WHERE i.id = :id FOR UPDATE OF i"

# Asked in a statement of its own, after the invoice's lock is held: a subquery of the
# locking statement would read the snapshot taken before the wait, and miss the payment
# that the lock's previous holder just committed.
PAYMENT_IN_PROGRESS = """
SELECT EXISTS (SELECT 1 FROM payments WHERE invoice_id = :invoice_id
               AND status IN ('PROCESSING', 'REQUIRES_ACTION')) AS found
"""

VOID_INVOICE = f"""
UPDATE invoices AS i SET status = 'VOID', voided_at = now(), voided_by = :voided_by,
  updated_at = now()
WHERE i.id = :id AND i.status = 'OPEN'
RETURNING {_INVOICE}
"""

_MY_INVOICES = f"""
SELECT {_INVOICE} FROM invoices i
WHERE i.user_id = :user_id {{status}} {{after}}
ORDER BY i.created_at DESC, i.id DESC
LIMIT :limit
"""
_STATUS = "AND i.status = :status"
_INVOICE_AFTER = (
    "AND (i.created_at, i.id) < (CAST(:created_at AS timestamptz), CAST(:after_id AS uuid))"
)
MY_INVOICES = _MY_INVOICES.format(status="", after="")
MY_INVOICES_AFTER = _MY_INVOICES.format(status="", after=_INVOICE_AFTER)
MY_INVOICES_BY_STATUS = _MY_INVOICES.format(status=_STATUS, after="")
MY_INVOICES_BY_STATUS_AFTER = _MY_INVOICES.format(status=_STATUS, after=_INVOICE_AFTER)

# --- payments -----------------------------------------------------------------------------

_PAYMENT = (
    "p.id, p.invoice_id, p.user_id, p.idempotency_key, p.status, p.amount, p.currency, "
    "p.payment_method, p.gateway_id, p.gateway_status, p.failure_code, p.decline_code, "
    "p.failure_message, p.next_action, p.client_secret, p.created_at, p.updated_at, "
    "p.settled_at"
)

# A payment taken up again by a retry with its key: touched, so that the reconciliation
# job, which waits for payments left alone, leaves it to the retry.
RESUME_PAYMENT = f"""
UPDATE payments AS p SET updated_at = now() WHERE p.idempotency_key = :idempotency_key
RETURNING {_PAYMENT}
"""

START_PAYMENT = f"""
INSERT INTO payments AS p (id, invoice_id, user_id, idempotency_key, amount, currency,
  payment_method)
VALUES (:id, :invoice_id, :user_id, :idempotency_key, :amount, :currency, :payment_method)
RETURNING {_PAYMENT}
"""

# The PaymentIntent is known before it is confirmed: whatever happens to this function
# afterwards, the reconciliation job can ask the gateway about it.
SET_GATEWAY_ID = """
UPDATE payments SET gateway_id = :gateway_id, gateway_status = :gateway_status,
  updated_at = now()
WHERE id = :id AND gateway_id IS NULL
"""

PAYMENT_BY_GATEWAY_ID = "SELECT id FROM payments WHERE gateway_id = :gateway_id"

# The invoice of a payment, locked first (the one lock order), then the payment.
LOCK_INVOICE_OF_PAYMENT = f"""
SELECT {_INVOICE} FROM invoices i
WHERE i.id = (SELECT invoice_id FROM payments WHERE id = :payment_id)
FOR UPDATE OF i
"""
LOCK_PAYMENT = f"SELECT {_PAYMENT} FROM payments p WHERE p.id = :id FOR UPDATE OF p"

SET_PAYMENT_STATE = f"""
UPDATE payments AS p SET status = :status, gateway_status = :gateway_status,
  failure_code = :failure_code, decline_code = :decline_code,
  failure_message = :failure_message, next_action = CAST(:next_action AS jsonb),
  client_secret = COALESCE(:client_secret, p.client_secret),
  settled_at = CASE WHEN :status IN ('SUCCEEDED', 'FAILED') THEN now() END,
  updated_at = now()
WHERE p.id = :id
RETURNING {_PAYMENT}
"""

MARK_INVOICE_PAID = f"""
UPDATE invoices AS i SET status = 'PAID', paid_at = now(), paid_by = :payment_id,
  updated_at = now()
WHERE i.id = :id AND i.status = 'OPEN'
RETURNING {_INVOICE}
"""

# Payments left without a final answer: in PROCESSING past ``stale`` seconds since anything
# touched them, or waiting for the customer's action past ``action`` seconds.
STUCK_PAYMENTS = """
SELECT id, status, gateway_id, idempotency_key, updated_at FROM payments
WHERE status IN ('PROCESSING', 'REQUIRES_ACTION')
  AND updated_at < now() - make_interval(secs => :stale)
  AND (status = 'PROCESSING' OR updated_at < now() - make_interval(secs => :action))
ORDER BY updated_at
LIMIT :batch
"""

# --- idempotency --------------------------------------------------------------------------

# Takes the key for this request, or tells (by returning nothing) that it is not free: a
# final answer is kept for it, another request holds it, or it was used for another
# request. It is taken when new, when expired (then as a new use, with a new id), or when
# its earlier request with the same fingerprint ended without a final answer and its
# lease is over. The conflicting row stays locked until the end of the transaction.
CLAIM_KEY = """
INSERT INTO idempotency_keys AS k (user_id, key, id, fingerprint, locked_until, expires_at)
VALUES (:user_id, :key, :id, :fingerprint, now() + make_interval(secs => :lease),
        now() + make_interval(secs => :keep))
ON CONFLICT ON CONSTRAINT pk_idempotency_keys DO UPDATE SET
  id = CASE WHEN k.expires_at <= now() THEN excluded.id ELSE k.id END,
  fingerprint = excluded.fingerprint,
  locked_until = excluded.locked_until,
  response_status = NULL,
  response_body = NULL,
  created_at = CASE WHEN k.expires_at <= now() THEN now() ELSE k.created_at END,
  expires_at = CASE WHEN k.expires_at <= now() THEN excluded.expires_at ELSE k.expires_at END
WHERE k.expires_at <= now()
   OR (k.response_status IS NULL AND k.fingerprint = excluded.fingerprint
       AND (k.locked_until IS NULL OR k.locked_until <= now()))
RETURNING k.id, (k.xmax = 0) AS fresh
"""

KEY_RECORD = """
SELECT id, fingerprint, response_status, response_body, locked_until > now() AS in_flight
FROM idempotency_keys WHERE user_id = :user_id AND key = :key
"""

FINISH_KEY = """
UPDATE idempotency_keys SET response_status = :status, response_body = :body,
  locked_until = NULL
WHERE user_id = :user_id AND key = :key AND id = :id
"""

# The request ended without a final answer: a retry with the key may go on at once.
RELEASE_KEY = """
UPDATE idempotency_keys SET locked_until = NULL
WHERE user_id = :user_id AND key = :key AND id = :id AND response_status IS NULL
"""

# The request was refused before it did anything (another payment of the invoice is in
# flight): as with the gateway's own keys, nothing is kept for the key.
FORGET_KEY = """
DELETE FROM idempotency_keys
WHERE user_id = :user_id AND key = :key AND id = :id AND response_status IS NULL
"""

SWEEP_KEYS = """
DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM idempotency_keys WHERE expires_at < now() LIMIT :batch))
"""

# --- gateway events -------------------------------------------------------------------------

# The first delivery inserts; a repeat finds the row and changes nothing (its effect, if
# any, committed with that row).
RECEIVE_GATEWAY_EVENT = """
INSERT INTO gateway_events (id, type, object_id, outcome)
VALUES (:id, :type, :object_id, 'received')
ON CONFLICT (id) DO NOTHING
"""

SET_GATEWAY_EVENT_OUTCOME = "UPDATE gateway_events SET outcome = :outcome WHERE id = :id"

SWEEP_GATEWAY_EVENTS = """
DELETE FROM gateway_events WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM gateway_events
  WHERE received_at < now() - make_interval(days => :days) LIMIT :batch))
"""
