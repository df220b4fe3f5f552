"""The Enrollment service applies the Course service's rule: a course's rights need
membership among its instructors and the INSTRUCTOR role, or ADMIN."""

from __future__ import annotations

from typing import Any

import pytest

from tests.course.builders import build_course, instructor, ok, student, user_id
from tests.enrollment.conftest import CourseFeed
from tests.support import Reply, as_caller, call

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("db_clean")]


def _get(caller: dict[str, Any], enrollment_id: str) -> Reply:
    return call(
        "GET",
        "/enrollments/{enrollmentId}",
        caller=caller,
        path_params={"enrollmentId": enrollment_id},
    )


def test_a_member_without_the_instructor_role_sees_no_enrollment_of_the_course(
    course_feed: CourseFeed,
) -> None:
    # Given a published course with an enrollment, known to the Enrollment service
    course = build_course()
    course_feed.pump()
    enrollment_id = ok(
        call(
            "POST",
            "/courses/{courseId}/enrollments",
            caller=student(),
            path_params={"courseId": course.id},
        ),
        201,
    )["id"]
    # And its owner, whose INSTRUCTOR role has since been taken (a new token says so)
    demoted = as_caller(user_id(course.owner), "STUDENT")
    # Then the membership alone shows them nothing: not the enrollment, not the list
    assert _get(course.owner, enrollment_id).status == 200
    assert _get(demoted, enrollment_id).status == 404
    cancelled = call(
        "POST",
        "/enrollments/{enrollmentId}/cancel",
        caller=demoted,
        path_params={"enrollmentId": enrollment_id},
    )
    assert cancelled.status == 404
    listed = call(
        "GET",
        "/courses/{courseId}/enrollments",
        caller=demoted,
        path_params={"courseId": course.id},
    )
    assert listed.status == 403
    # And an instructor who is not a member sees nothing either
    assert _get(instructor(), enrollment_id).status == 404
