"""The Enrollment routes through their real handlers, with Course events carried over the
bus -> rule -> queue -> consumer path (``course_feed``)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.course.builders import (
    BuiltCourse,
    add_lesson,
    admin,
    build_course,
    instructor,
    ok,
    student,
    user_id,
)
from tests.enrollment.conftest import CourseFeed
from tests.support import Reply, call

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("db_clean")]


def enroll(caller: dict[str, Any], course_id: str) -> Reply:
    return call(
        "POST",
        "/courses/{courseId}/enrollments",
        caller=caller,
        path_params={"courseId": course_id},
    )


def complete(caller: dict[str, Any], enrollment_id: str, lesson_id: str) -> Reply:
    return call(
        "PUT",
        "/enrollments/{enrollmentId}/lessons/{lessonId}/completion",
        caller=caller,
        path_params={"enrollmentId": enrollment_id, "lessonId": lesson_id},
    )


def get_enrollment(caller: dict[str, Any], enrollment_id: str) -> Reply:
    return call(
        "GET",
        "/enrollments/{enrollmentId}",
        caller=caller,
        path_params={"enrollmentId": enrollment_id},
    )


def cancel(caller: dict[str, Any], enrollment_id: str) -> Reply:
    return call(
        "POST",
        "/enrollments/{enrollmentId}/cancel",
        caller=caller,
        path_params={"enrollmentId": enrollment_id},
    )


def observed(event_log: Any, **counts: int) -> None:
    """Drain the bus log until it holds at least ``counts[type]`` events of each type."""
    deadline = time.monotonic() + 5
    while True:
        event_log.drain(wait_seconds=0.1)
        if all(len(event_log.of_type(k)) >= n for k, n in counts.items()):
            return
        assert time.monotonic() < deadline, {k: len(event_log.of_type(k)) for k in counts}


def published_course(feed: CourseFeed, **kwargs: Any) -> BuiltCourse:
    course = build_course(**kwargs)
    assert feed.pump() > 0
    return course


# --- enrolling -----------------------------------------------------------------------------


def test_a_student_enrolls_with_a_first_lesson_row_in_one_go(
    course_feed: CourseFeed, event_log: Any, admin_sql: Any
) -> None:
    course = published_course(course_feed)
    learner = student()

    enrollment = ok(enroll(learner, course.id), 201)

    assert enrollment["status"] == "ACTIVE"
    assert enrollment["progressPct"] == 0
    assert enrollment["userId"] == str(user_id(learner))
    assert enrollment["courseTitle"] == "Intro to Testing"
    assert [lesson["lessonId"] for lesson in enrollment["lessons"]] == course.lesson_ids
    first = enrollment["lessons"][0]
    assert first["updatedAt"] is not None and first["completedAt"] is None
    rows = admin_sql.run(
        "SELECT lesson_id::text, completed_at FROM lms_enrollment.lesson_progress "
        "WHERE enrollment_id = CAST(:id AS uuid)",
        id=enrollment["id"],
    )
    assert rows == [[course.lesson_ids[0], None]]
    observed(event_log, EnrollmentCreated=1)
    created = event_log.of_type("EnrollmentCreated")
    assert [e["detail"]["data"]["enrollmentId"] for e in created] == [enrollment["id"]]
    assert created[0]["detail"]["data"]["reactivated"] is False


def test_enrolling_twice_is_a_conflict(course_feed: CourseFeed) -> None:
    course = published_course(course_feed)
    learner = student()
    ok(enroll(learner, course.id), 201)
    again = enroll(learner, course.id)
    assert again.status == 409
    assert again.content_type == "application/problem+json"


def test_an_unknown_or_unpublished_course_is_not_found(course_feed: CourseFeed) -> None:
    draft = build_course(published=False)
    assert course_feed.pump() > 0  # the draft is known to Enrollment, as a draft
    assert enroll(student(), draft.id).status == 404
    assert enroll(student(), str(uuid.uuid4())).status == 404


def test_an_unpublished_course_the_consumer_has_not_heard_of_yet_is_not_found() -> None:
    course = build_course()  # events not pumped: Enrollment does not know the course yet
    assert enroll(student(), course.id).status == 404


# --- progress ------------------------------------------------------------------------------


def test_progress_goes_by_thirds_to_completed_and_a_repeat_changes_nothing(
    course_feed: CourseFeed, event_log: Any
) -> None:
    course = published_course(course_feed)  # three lessons
    learner = student()
    enrollment_id = ok(enroll(learner, course.id), 201)["id"]

    steps = [ok(complete(learner, enrollment_id, lesson)) for lesson in course.lesson_ids]
    repeat = ok(complete(learner, enrollment_id, course.lesson_ids[1]))

    assert [s["progressPct"] for s in steps] == [33.33, 66.67, 100]
    assert [s["status"] for s in steps] == ["ACTIVE", "ACTIVE", "COMPLETED"]
    assert steps[2]["completedAt"] is not None
    assert all(lesson["completedAt"] for lesson in steps[2]["lessons"])
    assert repeat == steps[2]  # nothing moved, not even updatedAt
    observed(event_log, LessonCompleted=3, EnrollmentCompleted=1)
    completions = event_log.of_type("LessonCompleted")
    assert [e["detail"]["data"]["lessonId"] for e in completions] == course.lesson_ids
    assert [float(e["detail"]["data"]["progressPct"]) for e in completions] == [33.33, 66.67, 100]
    assert len(event_log.of_type("EnrollmentCompleted")) == 1


def test_a_lesson_of_another_course_is_not_found(course_feed: CourseFeed) -> None:
    course = published_course(course_feed)
    other = published_course(course_feed, title="Other")
    learner = student()
    enrollment_id = ok(enroll(learner, course.id), 201)["id"]
    assert complete(learner, enrollment_id, other.lesson_ids[0]).status == 404


def test_nobody_completes_lessons_of_someone_elses_enrollment(course_feed: CourseFeed) -> None:
    course = published_course(course_feed)
    learner = student()
    enrollment_id = ok(enroll(learner, course.id), 201)["id"]
    for intruder in (student(), course.owner, admin()):
        assert complete(intruder, enrollment_id, course.lesson_ids[0]).status == 404
    assert ok(get_enrollment(learner, enrollment_id))["progressPct"] == 0


# --- who sees an enrollment ------------------------------------------------------------------


def test_an_enrollment_is_seen_by_its_owner_its_instructors_and_admins_only(
    course_feed: CourseFeed,
) -> None:
    course = published_course(course_feed)
    helper = instructor()
    ok(
        call(
            "PUT",
            "/courses/{courseId}/instructors/{userId}",
            caller=course.owner,
            path_params={"courseId": course.id, "userId": str(user_id(helper))},
        )
    )
    course_feed.pump()
    learner = student()
    enrollment_id = ok(enroll(learner, course.id), 201)["id"]

    for allowed in (learner, course.owner, helper, admin()):
        assert get_enrollment(allowed, enrollment_id).status == 200
    for outsider in (student(), instructor()):
        assert get_enrollment(outsider, enrollment_id).status == 404
    assert get_enrollment(learner, str(uuid.uuid4())).status == 404


def test_a_removed_instructor_no_longer_sees_the_enrollments(course_feed: CourseFeed) -> None:
    course = published_course(course_feed)
    helper = instructor()
    path = "/courses/{courseId}/instructors/{userId}"
    params = {"courseId": course.id, "userId": str(user_id(helper))}
    ok(call("PUT", path, caller=course.owner, path_params=params))
    course_feed.pump()
    enrollment_id = ok(enroll(student(), course.id), 201)["id"]
    assert get_enrollment(helper, enrollment_id).status == 200

    ok(call("DELETE", path, caller=course.owner, path_params=params))
    course_feed.pump()

    assert get_enrollment(helper, enrollment_id).status == 404


# --- cancelling ----------------------------------------------------------------------------


def test_cancel_then_enroll_again_reactivates_with_the_progress_kept(
    course_feed: CourseFeed, event_log: Any
) -> None:
    course = published_course(course_feed)
    learner = student()
    enrollment_id = ok(enroll(learner, course.id), 201)["id"]
    ok(complete(learner, enrollment_id, course.lesson_ids[0]))

    assert cancel(course.owner, enrollment_id).status == 403  # sees it, may not cancel it
    assert cancel(student(), enrollment_id).status == 404
    cancelled = ok(cancel(learner, enrollment_id))
    again = ok(cancel(learner, enrollment_id))
    refused = complete(learner, enrollment_id, course.lesson_ids[1])
    back = ok(enroll(learner, course.id), 201)

    assert cancelled["status"] == again["status"] == "CANCELLED"
    assert refused.status == 409
    assert back["id"] == enrollment_id
    assert (back["status"], back["progressPct"]) == ("ACTIVE", 33.33)
    observed(event_log, EnrollmentCreated=2, EnrollmentCancelled=1)
    assert len(event_log.of_type("EnrollmentCancelled")) == 1
    created = event_log.of_type("EnrollmentCreated")
    assert [e["detail"]["data"]["reactivated"] for e in created] == [False, True]


def test_an_admin_may_cancel_any_enrollment(course_feed: CourseFeed) -> None:
    course = published_course(course_feed)
    enrollment_id = ok(enroll(student(), course.id), 201)["id"]
    assert ok(cancel(admin(), enrollment_id))["status"] == "CANCELLED"


# --- lists ---------------------------------------------------------------------------------


def test_my_enrollments_come_newest_first_in_pages_and_by_status(
    course_feed: CourseFeed,
) -> None:
    teacher = instructor()
    courses = [
        build_course(teacher, lessons_per_module=(1,), title=f"Course {i}") for i in range(5)
    ]
    course_feed.pump()
    learner = student()
    ids = [ok(enroll(learner, c.id), 201)["id"] for c in courses]
    ok(enroll(student(), courses[0].id), 201)  # someone else's: never listed
    done = ok(complete(learner, ids[1], courses[1].lesson_ids[0]))
    assert done["status"] == "COMPLETED"

    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = ok(call("GET", "/me/enrollments", caller=learner, query=query))
        seen += [e["id"] for e in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    active = ok(call("GET", "/me/enrollments", caller=learner, query={"status": "ACTIVE"}))
    completed = ok(call("GET", "/me/enrollments", caller=learner, query={"status": "COMPLETED"}))
    first_page = ok(call("GET", "/me/enrollments", caller=learner, query={"limit": "1"}))
    crossed = call(
        "GET",
        "/me/enrollments",
        caller=learner,
        query={"status": "ACTIVE", "cursor": first_page["nextCursor"]},
    )

    assert seen == list(reversed(ids))
    assert [e["id"] for e in active["items"]] == [i for i in reversed(ids) if i != ids[1]]
    assert [e["id"] for e in completed["items"]] == [ids[1]]
    assert crossed.status == 400  # a cursor belongs to the list it came from
    assert call("GET", "/me/enrollments", caller=learner, query={"status": "NOPE"}).status == 422


def test_a_courses_enrollments_are_listed_for_its_instructors_and_admins_only(
    course_feed: CourseFeed,
) -> None:
    course = published_course(course_feed)
    ids = [ok(enroll(student(), course.id), 201)["id"] for _ in range(3)]
    path = "/courses/{courseId}/enrollments"
    params = {"courseId": course.id}

    first = ok(call("GET", path, caller=course.owner, path_params=params, query={"limit": "2"}))
    rest = ok(
        call(
            "GET",
            path,
            caller=course.owner,
            path_params=params,
            query={"limit": "2", "cursor": first["nextCursor"]},
        )
    )
    by_admin = ok(call("GET", path, caller=admin(), path_params=params))

    assert [e["id"] for e in first["items"] + rest["items"]] == list(reversed(ids))
    assert rest["nextCursor"] is None
    assert len(by_admin["items"]) == 3
    assert call("GET", path, caller=student(), path_params=params).status == 403
    assert call("GET", path, caller=instructor(), path_params=params).status == 404


# --- the course changes under its enrollments ---------------------------------------------


def test_lessons_added_and_removed_recompute_progress_and_status(
    course_feed: CourseFeed, event_log: Any
) -> None:
    course = published_course(course_feed, lessons_per_module=(2,))
    learner, other = student(), student()
    finished = ok(enroll(learner, course.id), 201)["id"]
    halfway = ok(enroll(other, course.id), 201)["id"]
    for lesson in course.lesson_ids:
        ok(complete(learner, finished, lesson))
    ok(complete(other, halfway, course.lesson_ids[0]))

    added = add_lesson(course.owner, course.id, course.module_ids[0], "Bonus")
    course_feed.pump()

    grown = ok(get_enrollment(learner, finished))
    assert (grown["status"], grown["progressPct"], grown["completedAt"]) == ("ACTIVE", 66.67, None)
    assert ok(get_enrollment(other, halfway))["progressPct"] == 33.33

    for lesson_id in (course.lesson_ids[1], added["id"]):
        ok(
            call(
                "DELETE",
                "/courses/{courseId}/lessons/{lessonId}",
                caller=course.owner,
                path_params={"courseId": course.id, "lessonId": lesson_id},
            )
        )
    course_feed.pump()

    assert ok(get_enrollment(learner, finished))["status"] == "COMPLETED"
    shrunk = ok(get_enrollment(other, halfway))
    assert (shrunk["status"], shrunk["progressPct"]) == ("COMPLETED", 100)
    observed(event_log, EnrollmentCompleted=3)
    completed = event_log.of_type("EnrollmentCompleted")
    # The learner once by their own hand, then again after the course shrank; the other by
    # the removal alone.
    assert sorted(e["detail"]["data"]["enrollmentId"] for e in completed) == sorted(
        [finished, finished, halfway]
    )
