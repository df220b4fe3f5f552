"""POST /plans: an administrator makes a plan (price as a decimal string, ISO currency)."""

from functions.payment import use_cases
from functions.payment.models import CreatePlan, Plan
from functions.payment.service import SERVICE

api = SERVICE.endpoint(__name__)


@api.handle
def create_plan(body: CreatePlan) -> Plan:
    return use_cases.create_plan(body)


handler = api.handler
