"""GET /me/submissions: the caller's submissions, newest first, optionally in one course."""

import uuid
from typing import Annotated

from functions.assignment import use_cases
from functions.assignment.models import SubmissionPage
from functions.assignment.service import SERVICE
from lms_platform.http import Query, current_principal
from lms_platform.pagination import DEFAULT_LIMIT, CursorParam, Limit

api = SERVICE.endpoint(__name__)


@api.handle
def list_my_submissions(
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
    course_id: Annotated[uuid.UUID | None, Query()] = None,
) -> SubmissionPage:
    return use_cases.my_submissions(
        current_principal(), course_id=course_id, limit=limit, cursor=cursor
    )


handler = api.handler
