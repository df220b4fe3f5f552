"""PUT /submissions/{submissionId}/grade: grade a submission, or change its grade."""

import uuid

from functions.assignment import use_cases
from functions.assignment.models import Grade, GradeSubmission
from functions.assignment.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def grade_submission(submission_id: uuid.UUID, body: GradeSubmission) -> Grade:
    return use_cases.grade(current_principal(), submission_id, body)


handler = api.handler
