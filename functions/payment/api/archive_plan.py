"""POST /plans/{planId}/archive: an administrator retires a plan."""

import uuid

from functions.payment import use_cases
from functions.payment.models import Plan
from functions.payment.service import SERVICE

api = SERVICE.endpoint(__name__)


@api.handle
def archive_plan(plan_id: uuid.UUID) -> Plan:
    return use_cases.archive_plan(plan_id)


handler = api.handler
