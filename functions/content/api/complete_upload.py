"""POST /content/{itemId}/versions/{versionId}/complete: the uploaded file checked."""

import uuid

from functions.content import use_cases
from functions.content.models import Version
from functions.content.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def complete_upload(item_id: uuid.UUID, version_id: uuid.UUID) -> Version:
    return use_cases.complete_upload(current_principal(), item_id, version_id)


handler = api.handler
