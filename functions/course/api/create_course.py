"""POST /courses: a draft course; the caller becomes its owner (instructor or admin)."""

from functions.course import use_cases
from functions.course.models import Course, CreateCourse
from functions.course.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def create_course(body: CreateCourse) -> Course:
    return use_cases.create_course(current_principal(), body)


handler = api.handler
