"""The Course routes through their real Lambda handlers, on PostgreSQL and moto."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.course.builders import (
    add_lesson,
    add_module,
    admin,
    build_course,
    create_course,
    get_course,
    instructor,
    ok,
    publish,
    student,
    user_id,
)
from tests.support import call

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("db_clean")]


def outline(course: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(module title, [lesson titles]) in order, checking sort orders are 0..n-1."""
    assert [m["sortOrder"] for m in course["modules"]] == list(range(len(course["modules"])))
    for m in course["modules"]:
        assert [lesson["sortOrder"] for lesson in m["lessons"]] == list(range(len(m["lessons"])))
    return [(m["title"], [lesson["title"] for lesson in m["lessons"]]) for m in course["modules"]]


# --- creating ------------------------------------------------------------------------------


def test_instructor_creates_a_draft_and_becomes_its_owner(event_log: Any) -> None:
    teacher = instructor()

    course = create_course(teacher, "Écoles & Étoiles: Intro!", description="About stars")

    assert course["status"] == "DRAFT"
    assert course["slug"] == "ecoles-etoiles-intro"
    assert course["description"] == "About stars"
    assert [(i["userId"], i["role"]) for i in course["instructors"]] == [
        (str(user_id(teacher)), "OWNER")
    ]
    assert course["modules"] == []
    seen = event_log.drain(expect=2)
    created = event_log.of_type("CourseCreated")
    assigned = event_log.of_type("InstructorAssigned")
    assert len(created) == 1 and len(assigned) == 1, seen
    assert created[0]["source"] == "lms.course"
    assert created[0]["detail"]["data"]["courseId"] == course["id"]
    assert created[0]["detail"]["data"]["status"] == "DRAFT"
    assert created[0]["detail"]["data"]["version"] == 1
    assert assigned[0]["detail"]["data"]["userId"] == str(user_id(teacher))


def test_a_slug_made_from_a_taken_title_gets_a_suffix_and_a_given_taken_slug_is_a_conflict() -> (
    None
):
    teacher = instructor()
    first = create_course(teacher, "Python Basics")
    second = create_course(teacher, "Python Basics")
    third = create_course(teacher, "Python Basics")

    assert first["slug"] == "python-basics"
    assert second["slug"].startswith("python-basics-")
    assert third["slug"].startswith("python-basics-")
    assert len({first["slug"], second["slug"], third["slug"]}) == 3
    taken = call("POST", "/courses", caller=teacher, body={"title": "X", "slug": "python-basics"})
    assert taken.status == 409
    assert taken.content_type == "application/problem+json"


def test_a_slug_shaped_like_an_id_is_refused() -> None:
    reply = call(
        "POST",
        "/courses",
        caller=instructor(),
        body={"title": "X", "slug": str(uuid.uuid4())},
    )
    assert reply.status == 422


def test_a_student_cannot_create_a_course() -> None:
    reply = call("POST", "/courses", caller=student(), body={"title": "Mine"})
    assert reply.status == 403


def test_no_token_is_a_401() -> None:
    reply = call("POST", "/courses", body={"title": "Mine"})
    assert reply.status == 401


# --- who sees and who changes --------------------------------------------------------------


def test_a_draft_is_seen_only_by_its_instructors_and_admins() -> None:
    teacher = instructor()
    course = create_course(teacher, "Secret Draft")

    assert get_course(teacher, course["id"]).status == 200
    assert get_course(teacher, course["slug"]).body["id"] == course["id"]
    assert get_course(admin(), course["id"]).status == 200
    for outsider in (student(), instructor()):
        by_id, by_slug = get_course(outsider, course["id"]), get_course(outsider, course["slug"])
        assert (by_id.status, by_slug.status) == (404, 404)
    assert get_course(student(), str(uuid.uuid4())).status == 404


def test_a_published_course_is_seen_by_anyone_with_a_token() -> None:
    course = build_course()
    reply = get_course(student(), course.id)
    assert reply.status == 200
    assert reply.body["status"] == "PUBLISHED"


def test_a_student_cannot_change_a_course() -> None:
    course = build_course()
    reply = call(
        "PATCH",
        "/courses/{courseId}",
        caller=student(),
        path_params={"courseId": course.id},
        body={"title": "Hijacked"},
    )
    assert reply.status == 403
    assert get_course(course.owner, course.id).body["title"] == "Intro to Testing"


def test_an_instructor_of_course_a_cannot_change_course_b() -> None:
    course_a = build_course(title="Course A")
    published_b = build_course(title="Course B")
    draft_b = build_course(title="Draft B", published=False)
    teacher_a = course_a.owner

    visible = call(
        "PATCH",
        "/courses/{courseId}",
        caller=teacher_a,
        path_params={"courseId": published_b.id},
        body={"title": "Mine now"},
    )
    hidden = call(
        "POST",
        "/courses/{courseId}/modules",
        caller=teacher_a,
        path_params={"courseId": draft_b.id},
        body={"title": "Sneaky"},
    )

    assert visible.status == 403  # a published course is visible: the refusal says why
    assert hidden.status == 404  # a draft of someone else does not exist for this caller
    assert get_course(published_b.owner, published_b.id).body["title"] == "Course B"
    assert len(get_course(draft_b.owner, draft_b.id).body["modules"]) == 2


def test_an_admin_may_change_any_course() -> None:
    course = build_course(published=False)
    reply = call(
        "PATCH",
        "/courses/{courseId}",
        caller=admin(),
        path_params={"courseId": course.id},
        body={"description": "Reviewed"},
    )
    assert ok(reply)["description"] == "Reviewed"


def test_an_assigned_instructor_may_edit_and_the_last_one_cannot_be_removed(
    event_log: Any,
) -> None:
    course = build_course(published=False)
    helper = instructor()
    path = "/courses/{courseId}/instructors/{userId}"
    params = {"courseId": course.id, "userId": str(user_id(helper))}
    owner_params = {"courseId": course.id, "userId": str(user_id(course.owner))}

    assigned = ok(call("PUT", path, caller=course.owner, path_params=params))
    again = ok(call("PUT", path, caller=course.owner, path_params=params))
    edited = add_module(helper, course.id, "Helper's module")
    # An instructor may not remove the owner; an administrator may, and the helper inherits
    helper_removes_owner = call("DELETE", path, caller=helper, path_params=owner_params)
    removed_owner = ok(call("DELETE", path, caller=admin(), path_params=owner_params))
    last = call("DELETE", path, caller=helper, path_params=params)

    assert {i["role"] for i in assigned["instructors"]} == {"OWNER", "INSTRUCTOR"}
    assert again == assigned
    assert edited["sortOrder"] == 2
    assert helper_removes_owner.status == 403
    assert [(i["userId"], i["role"]) for i in removed_owner["instructors"]] == [
        (str(user_id(helper)), "OWNER")
    ]
    assert last.status == 409
    assert get_course(course.owner, course.id).status == 404  # no longer teaches a draft
    event_log.drain(expect=4)
    # owner at creation, helper once, helper as the new owner
    assert len(event_log.of_type("InstructorAssigned")) == 3
    assert len(event_log.of_type("InstructorRemoved")) == 1


# --- publishing and archiving ---------------------------------------------------------------


def test_publishing_needs_a_lesson_and_announces_the_lessons_in_order(event_log: Any) -> None:
    teacher = instructor()
    course = create_course(teacher)
    empty = call(
        "POST",
        "/courses/{courseId}/publish",
        caller=teacher,
        path_params={"courseId": course["id"]},
    )
    assert empty.status == 409

    module_1 = add_module(teacher, course["id"], "One")
    module_2 = add_module(teacher, course["id"], "Two")
    last = add_lesson(teacher, course["id"], module_2["id"], "Last")
    first = add_lesson(teacher, course["id"], module_1["id"], "First")
    second = add_lesson(teacher, course["id"], module_1["id"], "Second")
    published = publish(teacher, course["id"])
    again = publish(teacher, course["id"])

    assert published["status"] == again["status"] == "PUBLISHED"
    event_log.drain(expect=1 + 1 + 3 + 1)
    announced = event_log.of_type("CoursePublished")
    assert len(announced) == 1  # publishing twice announces once
    assert announced[0]["detail"]["data"]["lessonIds"] == [first["id"], second["id"], last["id"]]


def test_archiving_takes_a_course_out_of_the_catalog_but_not_out_of_sight() -> None:
    course = build_course()
    archived = ok(
        call(
            "POST",
            "/courses/{courseId}/archive",
            caller=course.owner,
            path_params={"courseId": course.id},
        )
    )
    assert archived["status"] == "ARCHIVED"
    catalog = ok(call("GET", "/courses"))
    assert course.id not in [c["id"] for c in catalog["items"]]
    assert get_course(student(), course.id).status == 200


def test_a_published_course_keeps_its_last_lesson() -> None:
    course = build_course(lessons_per_module=(1,))
    reply = call(
        "DELETE",
        "/courses/{courseId}/lessons/{lessonId}",
        caller=course.owner,
        path_params={"courseId": course.id, "lessonId": course.lesson_ids[0]},
    )
    assert reply.status == 409


def test_changing_the_slug_to_a_taken_one_is_a_conflict() -> None:
    teacher = instructor()
    create_course(teacher, "Taken Title")
    course = create_course(teacher, "Other")
    reply = call(
        "PATCH",
        "/courses/{courseId}",
        caller=teacher,
        path_params={"courseId": course["id"]},
        body={"slug": "taken-title"},
    )
    assert reply.status == 409


# --- modules and lessons --------------------------------------------------------------------


def test_modules_and_lessons_keep_their_order_through_inserts_moves_and_removals(
    event_log: Any,
) -> None:
    teacher = instructor()
    course_id = create_course(teacher)["id"]
    m_b = add_module(teacher, course_id, "B")
    m_a = add_module(teacher, course_id, "A", position=0)
    m_c = add_module(teacher, course_id, "C", position=99)
    l2 = add_lesson(teacher, course_id, m_a["id"], "a2")
    add_lesson(teacher, course_id, m_a["id"], "a1", position=0)
    l3 = add_lesson(teacher, course_id, m_a["id"], "a3")
    add_lesson(teacher, course_id, m_b["id"], "b1")
    add_lesson(teacher, course_id, m_c["id"], "c1")
    params = {"courseId": course_id}

    assert outline(get_course(teacher, course_id).body) == [
        ("A", ["a1", "a2", "a3"]),
        ("B", ["b1"]),
        ("C", ["c1"]),
    ]

    moved = ok(
        call(
            "POST",
            "/courses/{courseId}/lessons/{lessonId}/move",
            caller=teacher,
            path_params={**params, "lessonId": l2["id"]},
            body={"moduleId": m_b["id"], "position": 0},
        )
    )
    assert outline(moved) == [("A", ["a1", "a3"]), ("B", ["a2", "b1"]), ("C", ["c1"])]

    within = ok(
        call(
            "POST",
            "/courses/{courseId}/lessons/{lessonId}/move",
            caller=teacher,
            path_params={**params, "lessonId": l3["id"]},
            body={"moduleId": m_a["id"], "position": 0},
        )
    )
    assert outline(within) == [("A", ["a3", "a1"]), ("B", ["a2", "b1"]), ("C", ["c1"])]

    reordered = ok(
        call(
            "PUT",
            "/courses/{courseId}/modules/order",
            caller=teacher,
            path_params=params,
            body={"moduleIds": [m_c["id"], m_a["id"], m_b["id"]]},
        )
    )
    assert outline(reordered) == [("C", ["c1"]), ("A", ["a3", "a1"]), ("B", ["a2", "b1"])]

    b_lessons = [lesson["id"] for lesson in reordered["modules"][2]["lessons"]]
    swapped = ok(
        call(
            "PUT",
            "/courses/{courseId}/modules/{moduleId}/lessons/order",
            caller=teacher,
            path_params={**params, "moduleId": m_b["id"]},
            body={"lessonIds": list(reversed(b_lessons))},
        )
    )
    assert outline(swapped) == [("C", ["c1"]), ("A", ["a3", "a1"]), ("B", ["b1", "a2"])]

    without_a = ok(
        call(
            "DELETE",
            "/courses/{courseId}/modules/{moduleId}",
            caller=teacher,
            path_params={**params, "moduleId": m_a["id"]},
        )
    )
    assert outline(without_a) == [("C", ["c1"]), ("B", ["b1", "a2"])]

    without_b1 = ok(
        call(
            "DELETE",
            "/courses/{courseId}/lessons/{lessonId}",
            caller=teacher,
            path_params={**params, "lessonId": b_lessons[1]},
        )
    )
    assert outline(without_b1) == [("C", ["c1"]), ("B", ["a2"])]

    event_log.drain(expect=2 + 5 + 4 + 3)
    assert len(event_log.of_type("LessonAdded")) == 5
    assert len(event_log.of_type("LessonsReordered")) == 4
    assert len(event_log.of_type("LessonRemoved")) == 3  # two with module A, one alone
    newest = max(
        (e["detail"]["data"] for e in event_log.seen if "lessonIds" in e["detail"]["data"]),
        key=lambda d: d["version"],
    )
    final_ids = [lesson["id"] for m in without_b1["modules"] for lesson in m["lessons"]]
    assert newest["lessonIds"] == final_ids


def test_an_order_that_leaves_out_or_repeats_an_item_is_refused() -> None:
    course = build_course(published=False)
    params = {"courseId": course.id}
    missing = call(
        "PUT",
        "/courses/{courseId}/modules/order",
        caller=course.owner,
        path_params=params,
        body={"moduleIds": course.module_ids[:1]},
    )
    repeated = call(
        "PUT",
        "/courses/{courseId}/modules/{moduleId}/lessons/order",
        caller=course.owner,
        path_params={**params, "moduleId": course.module_ids[0]},
        body={"lessonIds": [course.lesson_ids[0], course.lesson_ids[0]]},
    )
    assert (missing.status, repeated.status) == (409, 409)


def test_lessons_of_another_course_are_not_found() -> None:
    mine = build_course(published=False)
    theirs = build_course(published=False)
    reply = call(
        "PATCH",
        "/courses/{courseId}/lessons/{lessonId}",
        caller=mine.owner,
        path_params={"courseId": mine.id, "lessonId": theirs.lesson_ids[0]},
        body={"title": "Stolen"},
    )
    move = call(
        "POST",
        "/courses/{courseId}/lessons/{lessonId}/move",
        caller=mine.owner,
        path_params={"courseId": mine.id, "lessonId": mine.lesson_ids[0]},
        body={"moduleId": theirs.module_ids[0]},
    )
    assert (reply.status, move.status) == (404, 404)


def test_a_lesson_is_updated_and_renamed_modules_keep_their_place() -> None:
    course = build_course(published=False)
    lesson = ok(
        call(
            "PATCH",
            "/courses/{courseId}/lessons/{lessonId}",
            caller=course.owner,
            path_params={"courseId": course.id, "lessonId": course.lesson_ids[0]},
            body={"type": "quiz", "durationMinutes": None},
        )
    )
    module = ok(
        call(
            "PATCH",
            "/courses/{courseId}/modules/{moduleId}",
            caller=course.owner,
            path_params={"courseId": course.id, "moduleId": course.module_ids[1]},
            body={"title": "Renamed"},
        )
    )
    assert (lesson["type"], lesson["durationMinutes"], lesson["title"]) == (
        "quiz",
        None,
        "Lesson 1.1",
    )
    assert (module["title"], module["sortOrder"], len(module["lessons"])) == ("Renamed", 1, 1)


def test_a_bad_lesson_type_is_a_422_with_the_field() -> None:
    course = build_course(published=False)
    reply = call(
        "POST",
        "/courses/{courseId}/modules/{moduleId}/lessons",
        caller=course.owner,
        path_params={"courseId": course.id, "moduleId": course.module_ids[0]},
        body={"title": "x", "type": "hologram"},
    )
    assert reply.status == 422
    assert any("type" in e["location"] for e in reply.body["errors"])
