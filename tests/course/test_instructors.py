"""Who teaches a course: only users known to exist, be active and hold INSTRUCTOR are made
instructors; at most twenty; one owner, who leaves only by handing the course over or by
an administrator's hand; and a course's rights need membership and the role."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from functions.course.models import MAX_INSTRUCTORS_PER_COURSE
from lms_events import user as user_events
from tests.course.builders import (
    add_module,
    admin,
    build_course,
    get_course,
    instructor,
    ok,
    student,
    tell_course_service,
    user_id,
)
from tests.support import Reply, as_caller, call, row_counts

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("db_clean")]

INSTRUCTORS = "/courses/{courseId}/instructors/{userId}"
OWNER = "/courses/{courseId}/owner"


def _assign(caller: dict[str, Any], course_id: str, user: uuid.UUID | str) -> Reply:
    return call(
        "PUT", INSTRUCTORS, caller=caller, path_params={"courseId": course_id, "userId": str(user)}
    )


def _remove(caller: dict[str, Any], course_id: str, user: uuid.UUID | str) -> Reply:
    return call(
        "DELETE",
        INSTRUCTORS,
        caller=caller,
        path_params={"courseId": course_id, "userId": str(user)},
    )


def _hand_over(caller: dict[str, Any], course_id: str, user: uuid.UUID | str) -> Reply:
    return call(
        "PUT", OWNER, caller=caller, path_params={"courseId": course_id}, body={"userId": str(user)}
    )


def _team(reply: Reply) -> list[tuple[str, str]]:
    return [(i["userId"], i["role"]) for i in ok(reply)["instructors"]]


def _course_rows(admin_sql: Any) -> dict[str, int]:
    return row_counts(admin_sql, "lms_course.course_instructors", "lms_course.outbox")


# --- who may be made an instructor ----------------------------------------------------------


def test_only_a_known_active_instructor_can_be_assigned(admin_sql: Any) -> None:
    course = build_course(published=False)
    suspended = instructor()
    tell_course_service(
        user_events.UserStatusChanged(
            user_id=user_id(suspended),
            status="SUSPENDED",
            changed_by=None,
            version=2,
            roles=["INSTRUCTOR"],
        )
    )
    before = _course_rows(admin_sql)
    # A made-up id is not a user: 404
    unknown = _assign(course.owner, course.id, uuid.uuid4())
    assert (unknown.status, unknown.body["title"]) == (404, "User not found")
    # A student, and a suspended instructor, cannot teach: 409
    for outsider in (student(), suspended):
        refused = _assign(course.owner, course.id, user_id(outsider))
        assert (refused.status, refused.body["title"]) == (409, "User cannot teach")
    # And nothing changed: no instructor row, no event
    assert _course_rows(admin_sql) == before
    # While a known, active instructor is assigned
    helper = instructor()
    assert (str(user_id(helper)), "INSTRUCTOR") in _team(
        _assign(course.owner, course.id, user_id(helper))
    )


def test_an_instructor_whose_role_came_later_is_assigned_once_the_course_service_hears_of_it() -> (
    None
):
    course = build_course(published=False)
    ada = student()
    assert _assign(course.owner, course.id, user_id(ada)).status == 409
    tell_course_service(
        user_events.RoleAssigned(
            user_id=user_id(ada),
            role="INSTRUCTOR",
            assigned_by=None,
            version=2,
            roles=["INSTRUCTOR", "STUDENT"],
            status="ACTIVE",
        )
    )
    assert _assign(course.owner, course.id, user_id(ada)).status == 200


def test_a_course_has_at_most_twenty_instructors(admin_sql: Any) -> None:
    course = build_course(published=False)
    for _ in range(MAX_INSTRUCTORS_PER_COURSE - 1):
        ok(_assign(course.owner, course.id, user_id(instructor())))
    before = _course_rows(admin_sql)
    one_too_many = _assign(course.owner, course.id, user_id(instructor()))
    assert (one_too_many.status, one_too_many.body["title"]) == (409, "Too many instructors")
    assert _course_rows(admin_sql) == before
    assert len(ok(get_course(course.owner, course.id))["instructors"]) == 20


# --- the owner ------------------------------------------------------------------------------


def test_the_owner_hands_the_course_over_and_stays_as_an_instructor(event_log: Any) -> None:
    course = build_course(published=False)
    owner, helper = course.owner, instructor()
    ok(_assign(owner, course.id, user_id(helper)))
    # Another instructor may not take the course
    assert _hand_over(helper, course.id, user_id(helper)).status == 403
    # The owner hands it to the helper
    team = _team(_hand_over(owner, course.id, user_id(helper)))
    assert sorted(team) == sorted(
        [(str(user_id(owner)), "INSTRUCTOR"), (str(user_id(helper)), "OWNER")]
    )
    # Handing it to its owner again changes nothing
    assert _team(_hand_over(helper, course.id, user_id(helper))) == team
    # The old owner may now be removed by the new one
    assert _team(_remove(helper, course.id, user_id(owner))) == [(str(user_id(helper)), "OWNER")]
    # And the changes of part were announced, with the course's version
    event_log.drain(expect=6)
    parts = sorted(
        (e["detail"]["data"]["userId"], e["detail"]["data"]["role"])
        for e in event_log.of_type("InstructorAssigned")
    )
    assert parts == sorted(
        [
            (str(user_id(owner)), "OWNER"),
            (str(user_id(helper)), "INSTRUCTOR"),
            (str(user_id(owner)), "INSTRUCTOR"),
            (str(user_id(helper)), "OWNER"),
        ]
    )


def test_ownership_goes_to_an_eligible_user_who_joins_if_needed() -> None:
    course = build_course(published=False)
    # Not to someone who cannot teach, nor to a made-up id
    assert _hand_over(course.owner, course.id, user_id(student())).status == 409
    assert (
        _hand_over(course.owner, course.id, uuid.uuid4()).status == 409
    )  # a body, not the path, names the user
    # To an instructor not yet on the course: they join as its owner
    newcomer = instructor()
    team = _team(_hand_over(course.owner, course.id, user_id(newcomer)))
    assert (str(user_id(newcomer)), "OWNER") in team
    assert (str(user_id(course.owner)), "INSTRUCTOR") in team
    # An administrator may hand it over too
    third = instructor()
    assert (str(user_id(third)), "OWNER") in _team(_hand_over(admin(), course.id, user_id(third)))


def test_the_owner_cannot_just_leave_and_only_an_admin_removes_them() -> None:
    course = build_course(published=False)
    helper = instructor()
    ok(_assign(course.owner, course.id, user_id(helper)))
    leaving = _remove(course.owner, course.id, user_id(course.owner))
    assert (leaving.status, leaving.body["title"]) == (409, "The owner stays")
    assert _remove(helper, course.id, user_id(course.owner)).status == 403
    # The helper may leave by themself
    assert _team(_remove(helper, course.id, user_id(helper))) == [
        (str(user_id(course.owner)), "OWNER")
    ]


def test_one_owner_per_course_is_kept_by_the_database(admin_sql: Any) -> None:
    course = build_course(published=False)
    helper = instructor()
    ok(_assign(course.owner, course.id, user_id(helper)))
    with pytest.raises(Exception, match="uq_course_instructors_owner"):
        admin_sql.run(
            "UPDATE lms_course.course_instructors SET role = 'OWNER'"
            " WHERE course_id = CAST(:c AS uuid) AND user_id = :u",
            c=course.id,
            u=user_id(helper),
        )


# --- rights need membership and the role ----------------------------------------------------


def test_a_member_without_the_instructor_role_has_no_rights_on_the_course() -> None:
    # Given a draft whose helper then lost the INSTRUCTOR role (a token issued since says so)
    course = build_course(published=False)
    helper = instructor()
    ok(_assign(course.owner, course.id, user_id(helper)))
    demoted = as_caller(user_id(helper), "STUDENT")
    # Then they neither see the draft nor change it, although the membership stays
    assert get_course(demoted, course.id).status == 404
    change = call(
        "PATCH",
        "/courses/{courseId}",
        caller=demoted,
        path_params={"courseId": course.id},
        body={"title": "Mine now"},
    )
    assert change.status == 403
    # And an instructor of another course has no rights on this one either
    assert get_course(instructor(), course.id).status == 404
    # While with the role back they have both again
    assert get_course(helper, course.id).status == 200
    add_module(helper, course.id, "Back")


def test_an_admin_has_the_rights_without_membership() -> None:
    course = build_course(published=False)
    assert get_course(admin(), course.id).status == 200
    assert add_module(admin(), course.id, "Reviewed")["sortOrder"] == 2
