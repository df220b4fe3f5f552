"""GET /me/enrollments: the caller's enrollments, newest first, optionally by status."""

from typing import Annotated

from functions.enrollment import use_cases
from functions.enrollment.models import EnrollmentPage, EnrollmentStatus
from functions.enrollment.service import SERVICE
from lms_platform.http import Query, current_principal
from lms_platform.pagination import DEFAULT_LIMIT, CursorParam, Limit

api = SERVICE.endpoint(__name__)


@api.handle
def list_my_enrollments(
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
    status: Annotated[EnrollmentStatus | None, Query()] = None,
) -> EnrollmentPage:
    return use_cases.my_enrollments(current_principal(), status=status, limit=limit, cursor=cursor)


handler = api.handler
