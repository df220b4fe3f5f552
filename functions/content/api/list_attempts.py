"""GET /content/{itemId}/attempts: attempts at a quiz, newest first."""

import uuid
from typing import Annotated

from functions.content import use_cases
from functions.content.models import AttemptPage
from functions.content.service import SERVICE
from lms_platform.http import Query, current_principal
from lms_platform.pagination import DEFAULT_LIMIT, CursorParam, Limit

api = SERVICE.endpoint(__name__)


@api.handle
def list_attempts(
    item_id: uuid.UUID,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
    user_id: Annotated[uuid.UUID | None, Query(description="one student (instructors)")] = None,
) -> AttemptPage:
    return use_cases.attempts(
        current_principal(), item_id, user_id=user_id, limit=limit, cursor=cursor
    )


handler = api.handler
