"""GET /content/{itemId}/versions: an item's versions, newest first."""

import uuid

from functions.content import use_cases
from functions.content.models import VersionPage
from functions.content.service import SERVICE
from lms_platform.http import current_principal
from lms_platform.pagination import DEFAULT_LIMIT, CursorParam, Limit

api = SERVICE.endpoint(__name__)


@api.handle
def list_versions(
    item_id: uuid.UUID, limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None
) -> VersionPage:
    return use_cases.versions(current_principal(), item_id, limit=limit, cursor=cursor)


handler = api.handler
