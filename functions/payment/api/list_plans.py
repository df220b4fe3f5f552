"""GET /plans: the active plans, newest first, keyset-paginated (no token needed)."""

from functions.payment import use_cases
from functions.payment.models import PlanPage
from functions.payment.service import SERVICE
from lms_platform.pagination import DEFAULT_LIMIT, CursorParam, Limit

api = SERVICE.endpoint(__name__)


@api.handle
def list_plans(limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None) -> PlanPage:
    return use_cases.active_plans(limit=limit, cursor=cursor)


handler = api.handler
