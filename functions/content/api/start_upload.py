"""POST /content/{itemId}/uploads: a new version and the presigned PUT of its file."""

import uuid

from functions.content import use_cases
from functions.content.models import StartUpload, UploadStarted
from functions.content.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def start_upload(item_id: uuid.UUID, body: StartUpload) -> UploadStarted:
    return use_cases.start_upload(current_principal(), item_id, body)


handler = api.handler
