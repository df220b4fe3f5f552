"""PATCH /plans/{planId}: an administrator changes a plan (for invoices made afterwards)."""

import uuid

from functions.payment import use_cases
from functions.payment.models import Plan, UpdatePlan
from functions.payment.service import SERVICE

api = SERVICE.endpoint(__name__)


@api.handle
def update_plan(plan_id: uuid.UUID, body: UpdatePlan) -> Plan:
    return use_cases.update_plan(plan_id, body)


handler = api.handler
