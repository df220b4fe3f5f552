"""Who may call each route: anonymous, a student with no enrollment in the course, an
enrolled student, a student whose enrollment is cancelled, an instructor of another course,
the course's instructor, an admin. Anyone who may not see the object gets 404; who sees it
but may not do this, 403."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.assignment.builders import Classroom, classroom, new_assignment, submit
from tests.assignment.conftest import Feeds
from tests.course.builders import admin, ok
from tests.support import Reply, as_caller, call

pytestmark = [pytest.mark.integration]

CALLERS = ("anonymous", "outsider", "enrolled", "cancelled", "stranger", "teacher", "admin")


def _callers(room: Classroom) -> dict[str, dict[str, Any] | None]:
    return {
        "anonymous": None,
        "outsider": room.outsider,
        "enrolled": room.enrolled,
        "cancelled": room.cancelled,
        "stranger": room.stranger,
        "teacher": room.teacher,
        "admin": admin(),
    }


def _expect(
    room: Classroom, request: Callable[[dict[str, Any] | None], Reply], **expected: int
) -> None:
    callers = _callers(room)
    got = {name: request(callers[name]).status for name in CALLERS}
    assert got == {name: expected[name] for name in CALLERS}


@pytest.fixture
def room(feeds: Feeds) -> Classroom:
    made, _ = classroom(feeds)
    return made


def test_create_an_assignment(room: Classroom) -> None:
    def request(caller: dict[str, Any] | None) -> Reply:
        return call(
            "POST",
            "/courses/{courseId}/assignments",
            caller=caller,
            path_params={"courseId": room.id},
            body={"title": "T", "maxScore": 1},
        )

    _expect(room, request, anonymous=401, outsider=404, enrolled=403, cancelled=403,
            stranger=404, teacher=201, admin=201)  # fmt: skip


def test_list_a_courses_assignments(room: Classroom) -> None:
    def request(caller: dict[str, Any] | None) -> Reply:
        return call(
            "GET",
            "/courses/{courseId}/assignments",
            caller=caller,
            path_params={"courseId": room.id},
        )

    _expect(room, request, anonymous=401, outsider=404, enrolled=200, cancelled=200,
            stranger=404, teacher=200, admin=200)  # fmt: skip


def _on_assignment(method: str, path: str, assignment_id: str, body: Any = None) -> Any:
    def request(caller: dict[str, Any] | None) -> Reply:
        return call(
            method,
            path,
            caller=caller,
            path_params={"assignmentId": assignment_id},
            body=body,
        )

    return request


def test_get_an_assignment(room: Classroom) -> None:
    made = new_assignment(room)
    request = _on_assignment("GET", "/assignments/{assignmentId}", made["id"])
    _expect(room, request, anonymous=401, outsider=404, enrolled=200, cancelled=200,
            stranger=404, teacher=200, admin=200)  # fmt: skip


def test_change_an_assignment(room: Classroom) -> None:
    made = new_assignment(room)
    request = _on_assignment("PATCH", "/assignments/{assignmentId}", made["id"], {"title": "N"})
    _expect(room, request, anonymous=401, outsider=404, enrolled=403, cancelled=403,
            stranger=404, teacher=200, admin=200)  # fmt: skip


def test_archive_an_assignment(room: Classroom) -> None:
    made = new_assignment(room)
    request = _on_assignment("POST", "/assignments/{assignmentId}/archive", made["id"])
    _expect(room, request, anonymous=401, outsider=404, enrolled=403, cancelled=403,
            stranger=404, teacher=200, admin=200)  # fmt: skip


def test_delete_an_assignment(room: Classroom) -> None:
    callers = _callers(room)
    got = {}
    for name in CALLERS:
        made = new_assignment(room)  # one each: a deleted one is gone
        got[name] = _on_assignment("DELETE", "/assignments/{assignmentId}", made["id"])(
            callers[name]
        ).status
    assert got == {"anonymous": 401, "outsider": 404, "enrolled": 403, "cancelled": 403,
                   "stranger": 404, "teacher": 204, "admin": 204}  # fmt: skip


def test_submit_work(room: Classroom) -> None:
    made = new_assignment(room)
    request = _on_assignment(
        "POST", "/assignments/{assignmentId}/submissions", made["id"], {"content": {"text": "a"}}
    )
    _expect(room, request, anonymous=401, outsider=404, enrolled=201, cancelled=409,
            stranger=404, teacher=403, admin=403)  # fmt: skip


def test_list_an_assignments_submissions(room: Classroom) -> None:
    made = new_assignment(room)
    request = _on_assignment("GET", "/assignments/{assignmentId}/submissions", made["id"])
    _expect(room, request, anonymous=401, outsider=404, enrolled=403, cancelled=403,
            stranger=404, teacher=200, admin=200)  # fmt: skip


def test_list_my_submissions(room: Classroom) -> None:
    submission = ok(submit(room.enrolled, new_assignment(room)["id"]), 201)

    def request(caller: dict[str, Any] | None) -> Reply:
        return call("GET", "/me/submissions", caller=caller)

    _expect(room, request, anonymous=401, outsider=200, enrolled=200, cancelled=200,
            stranger=200, teacher=200, admin=200)  # fmt: skip
    # Each caller's own only.
    assert [s["id"] for s in ok(request(room.enrolled))["items"]] == [submission["id"]]
    for other in (room.teacher, room.cancelled, room.outsider):
        assert ok(request(other))["items"] == []


def _on_submission(method: str, path: str, submission_id: str, body: Any = None) -> Any:
    def request(caller: dict[str, Any] | None) -> Reply:
        return call(
            method,
            path,
            caller=caller,
            path_params={"submissionId": submission_id},
            body=body,
        )

    return request


def test_get_a_submission(room: Classroom) -> None:
    submission = ok(submit(room.enrolled, new_assignment(room)["id"]), 201)
    request = _on_submission("GET", "/submissions/{submissionId}", submission["id"])
    _expect(room, request, anonymous=401, outsider=404, enrolled=200, cancelled=404,
            stranger=404, teacher=200, admin=200)  # fmt: skip


def test_grade_a_submission(room: Classroom) -> None:
    submission = ok(submit(room.enrolled, new_assignment(room)["id"]), 201)
    request = _on_submission(
        "PUT", "/submissions/{submissionId}/grade", submission["id"], {"score": 1}
    )
    _expect(room, request, anonymous=401, outsider=404, enrolled=403, cancelled=404,
            stranger=404, teacher=200, admin=200)  # fmt: skip


def test_teaching_a_course_without_the_instructor_role_in_the_token_is_not_enough(
    room: Classroom,
) -> None:
    made = new_assignment(room)
    submission = ok(submit(room.enrolled, made["id"]), 201)
    demoted = as_caller(room.teacher["sub"], "STUDENT")  # the role was taken away since

    assert _on_assignment("GET", "/assignments/{assignmentId}", made["id"])(demoted).status == 404
    assert (
        _on_submission("PUT", "/submissions/{submissionId}/grade", submission["id"], {"score": 1})(
            demoted
        ).status
        == 404
    )
    assert (
        call(
            "POST",
            "/courses/{courseId}/assignments",
            caller=demoted,
            path_params={"courseId": room.id},
            body={"title": "T", "maxScore": 1},
        ).status
        == 404
    )
