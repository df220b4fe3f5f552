"""GET /content/{itemId}: one item with its current version."""

import uuid

from functions.content import use_cases
from functions.content.models import ContentItem
from functions.content.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def get_content(item_id: uuid.UUID) -> ContentItem:
    return use_cases.get_content(current_principal(), item_id)


handler = api.handler
