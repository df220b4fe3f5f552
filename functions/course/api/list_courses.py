"""GET /courses: the catalog, published courses newest first, keyset-paginated."""

from typing import Annotated

from functions.course import use_cases
from functions.course.models import CoursePage
from functions.course.service import SERVICE
from lms_platform.http import Query
from lms_platform.pagination import DEFAULT_LIMIT, CursorParam, Limit

api = SERVICE.endpoint(__name__)


@api.handle
def list_courses(
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="title contains")
    ] = None,
) -> CoursePage:
    return use_cases.catalog(limit=limit, cursor=cursor, search=q)


handler = api.handler
