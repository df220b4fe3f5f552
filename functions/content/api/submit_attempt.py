"""POST /content/{itemId}/attempts: a student's answers, graded on the server."""

import uuid

from functions.content import use_cases
from functions.content.models import Attempt, SubmitAttempt
from functions.content.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def submit_attempt(item_id: uuid.UUID, body: SubmitAttempt) -> Attempt:
    return use_cases.attempt(current_principal(), item_id, body)


handler = api.handler
