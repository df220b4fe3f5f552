"""PUT /content/{itemId}/questions: a quiz's questions replaced (in its draft version)."""

import uuid

from functions.content import use_cases
from functions.content.models import ManagedQuiz, PutQuestions
from functions.content.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def put_questions(item_id: uuid.UUID, body: PutQuestions) -> ManagedQuiz:
    return use_cases.put_questions(current_principal(), item_id, body)


handler = api.handler
