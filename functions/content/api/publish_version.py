"""POST /content/{itemId}/versions/{versionId}/publish: the version students see."""

import uuid

from functions.content import use_cases
from functions.content.models import ContentItem
from functions.content.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def publish_version(item_id: uuid.UUID, version_id: uuid.UUID) -> ContentItem:
    return use_cases.publish(current_principal(), item_id, version_id)


handler = api.handler
