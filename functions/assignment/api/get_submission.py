"""GET /submissions/{submissionId}: one submission with its content and grade."""

import uuid

from functions.assignment import use_cases
from functions.assignment.models import Submission
from functions.assignment.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def get_submission(submission_id: uuid.UUID) -> Submission:
    return use_cases.get_submission(current_principal(), submission_id)


handler = api.handler
