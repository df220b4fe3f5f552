"""GET /assignments/{assignmentId}/submissions: an assignment's submissions, newest first."""

import uuid
from typing import Annotated

from functions.assignment import use_cases
from functions.assignment.models import SubmissionFilter, SubmissionPage
from functions.assignment.service import SERVICE
from lms_platform.http import Query, current_principal
from lms_platform.pagination import DEFAULT_LIMIT, CursorParam, Limit

api = SERVICE.endpoint(__name__)


@api.handle
def list_assignment_submissions(
    assignment_id: uuid.UUID,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
    status: Annotated[SubmissionFilter | None, Query()] = None,
    user_id: Annotated[uuid.UUID | None, Query(description="one student's")] = None,
    latest: Annotated[bool, Query(description="only each student's latest")] = False,
) -> SubmissionPage:
    return use_cases.assignment_submissions(
        current_principal(),
        assignment_id,
        status=status,
        student_id=user_id,
        latest=latest,
        limit=limit,
        cursor=cursor,
    )


handler = api.handler
