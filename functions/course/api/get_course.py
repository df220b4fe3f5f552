"""GET /courses/{courseId}: a course by id or slug, with its modules and lessons in order."""

from typing import Annotated

from functions.course import use_cases
from functions.course.models import Course
from functions.course.service import SERVICE
from lms_platform.http import Path, current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def get_course(
    course_id: Annotated[str, Path(min_length=1, max_length=80, description="id or slug")],
) -> Course:
    return use_cases.get_course(current_principal(), course_id)


handler = api.handler
