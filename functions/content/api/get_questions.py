"""GET /content/{itemId}/questions: a quiz's questions (never the answers, for students)."""

import uuid
from typing import Annotated

from functions.content import use_cases
from functions.content.models import LearnerQuiz, ManagedQuiz
from functions.content.service import SERVICE
from lms_platform.http import Query, current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def get_questions(
    item_id: uuid.UUID,
    version_id: Annotated[uuid.UUID | None, Query(description="a version (instructors)")] = None,
) -> ManagedQuiz | LearnerQuiz:
    return use_cases.questions(current_principal(), item_id, version_id)


handler = api.handler
