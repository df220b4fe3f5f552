"""POST /assignments/{assignmentId}/submissions: a student hands in work."""

import uuid
from typing import Annotated

from functions.assignment import use_cases
from functions.assignment.models import IdempotencyKey, Submission, SubmitWork
from functions.assignment.service import SERVICE
from lms_platform.http import Header, current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def submit(
    assignment_id: uuid.UUID,
    body: SubmitWork,
    idempotency_key: Annotated[IdempotencyKey | None, Header()] = None,
) -> Submission:
    return use_cases.submit(
        current_principal(), assignment_id, body, idempotency_key=idempotency_key
    )


handler = api.handler
