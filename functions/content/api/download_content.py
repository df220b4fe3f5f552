"""GET /content/{itemId}/download: a presigned GET of the published file (5 minutes)."""

import uuid
from typing import Annotated

from functions.content import use_cases
from functions.content.models import Download
from functions.content.service import SERVICE
from lms_platform.http import Query, current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def download_content(
    item_id: uuid.UUID,
    version_id: Annotated[
        uuid.UUID | None, Query(description="another ready version (instructors)")
    ] = None,
) -> Download:
    return use_cases.download(current_principal(), item_id, version_id)


handler = api.handler
