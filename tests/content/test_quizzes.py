"""Quizzes: questions replaced in a draft version, published, answered by enrolled students,
graded on the server; a student never sees a correct option on any route."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.content.conftest import (
    QUESTIONS,
    World,
    answers_to,
    attempt,
    create_item,
    new_id,
    publish,
    published_quiz,
    put_questions,
)
from tests.course.builders import ok
from tests.support import call, row_counts

pytestmark = [pytest.mark.integration]


def get_questions(caller: dict[str, Any] | None, item: str, **query: str) -> Any:
    return call(
        "GET", "/content/{itemId}/questions", caller=caller, path_params={"itemId": item},
        query=query or None,
    )  # fmt: skip


def list_attempts(caller: dict[str, Any], item: str, **query: str) -> Any:
    return call(
        "GET", "/content/{itemId}/attempts", caller=caller, path_params={"itemId": item},
        query=query or None,
    )  # fmt: skip


def assert_no_correct_option(body: Any) -> None:
    """Nothing in an answer to a student names a question's correct option."""
    text = json.dumps(body)
    assert "correctOptionId" not in text and "correct_option_id" not in text, text


def test_an_instructor_writes_questions_and_reads_them_whole(world: World) -> None:
    item = ok(create_item(world.owner, world.course.id, world.lesson, "quiz"), 201)
    assert item["passMarkPct"] == 70
    quiz = ok(put_questions(world.owner, item["id"]))
    assert [q["questionText"] for q in quiz["questions"]] == [q["questionText"] for q in QUESTIONS]
    assert [q["correctOptionId"] for q in quiz["questions"]] == ["b", "ada", "x"]
    assert (quiz["version"], quiz["status"], quiz["current"], quiz["passMarkPct"]) == (
        1,
        "READY",
        False,
        70,
    )
    assert ok(get_questions(world.owner, item["id"])) == quiz


def test_questions_are_replaced_in_the_draft_until_it_is_published(world: World) -> None:
    item = ok(create_item(world.owner, world.course.id, world.lesson, "quiz"), 201)["id"]
    first = ok(put_questions(world.owner, item))
    replaced = ok(put_questions(world.owner, item, QUESTIONS[:1], passMarkPct=100))
    assert replaced["versionId"] == first["versionId"]
    assert len(replaced["questions"]) == 1 and replaced["passMarkPct"] == 100
    ok(publish(world.owner, item, replaced["versionId"]))
    # Once published, new questions make a new draft; students keep the published one
    draft = ok(put_questions(world.owner, item))
    assert draft["version"] == 2 and draft["versionId"] != replaced["versionId"]
    assert draft["passMarkPct"] == 100  # kept from the last version
    seen = ok(get_questions(world.enrolled, item))
    assert seen["versionId"] == replaced["versionId"] and len(seen["questions"]) == 1


@pytest.mark.parametrize(
    ("questions", "where"),
    [
        ([{**QUESTIONS[0], "correctOptionId": "z"}], ["body", "questions", "0"]),
        (
            [{**QUESTIONS[0], "options": [{"id": "a", "text": "1"}, {"id": "a", "text": "2"}]}],
            ["body", "questions", "0"],
        ),
        ([{**QUESTIONS[0], "options": [{"id": "a", "text": "only"}]}], None),
        ([], ["body", "questions"]),
    ],
    ids=["correct-not-an-option", "duplicate-option-ids", "one-option", "no-questions"],
)
def test_questions_that_do_not_hold_together_are_a_422_and_change_nothing(
    world: World, admin_sql: Any, questions: Any, where: list[str] | None
) -> None:
    item = ok(create_item(world.owner, world.course.id, world.lesson, "quiz"), 201)["id"]
    before = row_counts(admin_sql, "lms_content.quiz_questions", "lms_content.content_versions")
    reply = put_questions(world.owner, item, questions)
    assert reply.status == 422, reply.body
    if where is not None:
        assert reply.body["errors"][0]["location"][: len(where)] == where
    assert (
        row_counts(admin_sql, "lms_content.quiz_questions", "lms_content.content_versions")
        == before
    )


def test_only_quizzes_take_questions_and_only_files_take_uploads(world: World) -> None:
    pdf = ok(create_item(world.owner, world.course.id, world.lesson, "pdf"), 201)["id"]
    quiz = ok(create_item(world.owner, world.course.id, world.lesson, "quiz"), 201)["id"]
    assert put_questions(world.owner, pdf).status == 409
    upload = call(
        "POST", "/content/{itemId}/uploads", caller=world.owner, path_params={"itemId": quiz},
        body={"fileName": "q.pdf", "contentType": "application/pdf", "sizeBytes": 1,
              "checksumSha256": "0" * 64},
    )  # fmt: skip
    assert upload.status == 409
    assert (
        create_item(world.owner, world.course.id, world.lesson, "pdf", passMarkPct=50).status == 422
    )


def test_a_student_never_sees_a_correct_option_on_any_route(world: World) -> None:
    # Given a published quiz
    item, quiz = published_quiz(world)
    student = world.enrolled
    # When the student reads the item, the lesson's items, the questions, answers the quiz
    # (right and wrong) and lists the attempts
    answers = [
        get_questions(student, item),
        get_questions(student, item, versionId=quiz["versionId"]),
        call("GET", "/content/{itemId}", caller=student, path_params={"itemId": item}),
        call(
            "GET",
            "/courses/{courseId}/lessons/{lessonId}/content",
            caller=student,
            path_params={"courseId": world.course.id, "lessonId": world.lesson},
        ),
        attempt(student, item, answers_to(quiz, 3)),
        attempt(student, item, answers_to(quiz, 1)),
        attempt(student, item, {}),
        list_attempts(student, item),
        # and tries the instructor's views
        put_questions(student, item),
        list_attempts(student, item, userId=str(world.owner["sub"])),
    ]
    # Then no answer names a correct option
    for reply in answers:
        assert reply.status < 500, reply.body
        assert_no_correct_option(reply.body)
    assert [r.status for r in answers[-2:]] == [403, 403]
    learner_view = answers[0].body
    assert [len(q["options"]) for q in learner_view["questions"]] == [3, 2, 2]
    assert set(learner_view["questions"][0]) == {"id", "questionText", "options"}


def test_an_attempt_is_graded_on_the_server_against_the_pass_mark(world: World) -> None:
    item, quiz = published_quiz(world)
    two_of_three = ok(attempt(world.enrolled, item, answers_to(quiz, 2)), 201)
    all_right = ok(attempt(world.enrolled, item, answers_to(quiz, 3)), 201)
    none = ok(attempt(world.enrolled, item, {}), 201)

    assert (two_of_three["scorePct"], two_of_three["passed"]) == (66.67, False)
    assert (all_right["scorePct"], all_right["passed"]) == (100.0, True)
    assert (none["scorePct"], none["passed"], none["correctCount"]) == (0.0, False, 0)
    assert [r["correct"] for r in two_of_three["results"]] == [True, True, False]
    assert none["results"][0]["chosenOptionId"] is None


def test_the_pass_mark_is_the_quizs_own(world: World) -> None:
    item, quiz = published_quiz(world, passMarkPct=60)
    assert ok(attempt(world.enrolled, item, answers_to(quiz, 2)), 201)["passed"] is True


@pytest.mark.parametrize("bad", ["unknown-question", "unknown-option", "not-a-uuid"])
def test_answers_that_do_not_fit_the_quiz_are_a_422_and_store_nothing(
    world: World, admin_sql: Any, bad: str
) -> None:
    item, quiz = published_quiz(world)
    answers = answers_to(quiz, 3)
    if bad == "unknown-question":
        answers[new_id()] = "a"
    elif bad == "unknown-option":
        answers[quiz["questions"][0]["id"]] = "zzz"
    else:
        answers["nope"] = "a"
    reply = attempt(world.enrolled, item, answers)
    assert reply.status == 422, reply.body
    assert row_counts(admin_sql, "lms_content.quiz_attempts", "lms_content.outbox") == {
        "lms_content.quiz_attempts": 0,
        "lms_content.outbox": 1,  # ContentPublished only
    }


def test_a_retried_attempt_replays_and_another_with_its_id_is_refused(
    world: World, admin_sql: Any
) -> None:
    item, quiz = published_quiz(world)
    attempt_id = new_id()
    first = ok(attempt(world.enrolled, item, answers_to(quiz, 3), attemptId=attempt_id), 201)
    again = ok(attempt(world.enrolled, item, answers_to(quiz, 3), attemptId=attempt_id), 201)
    other = attempt(world.enrolled, item, answers_to(quiz, 1), attemptId=attempt_id)
    stolen = attempt(world.admin, item, answers_to(quiz, 3), attemptId=attempt_id)

    assert first == again and first["id"] == attempt_id
    assert other.status == 409 and stolen.status in (403, 409)
    events = admin_sql.run(
        "SELECT count(*) FROM lms_content.outbox WHERE event_type = 'QuizAttempted'"
    )
    assert events == [[1]]


def test_quiz_attempted_carries_what_enrollment_needs(world: World, admin_sql: Any) -> None:
    item, quiz = published_quiz(world)
    made = ok(attempt(world.enrolled, item, answers_to(quiz, 3)), 201)
    [[detail]] = admin_sql.run(
        "SELECT detail FROM lms_content.outbox WHERE event_type = 'QuizAttempted'"
    )
    data = detail["data"]
    assert data["attemptId"] == made["id"]
    assert data["userId"] == world.enrolled["sub"]
    assert (data["courseId"], data["lessonId"], data["contentItemId"]) == (
        world.course.id,
        world.lesson,
        item,
    )
    assert (data["passed"], data["scorePct"], data["passMarkPct"]) == (True, "100.00", 70)


def test_attempts_are_listed_newest_first_by_cursor_each_student_their_own(
    world: World, deliver: Any
) -> None:
    from tests.content.conftest import enroll
    from tests.course.builders import student

    item, quiz = published_quiz(world)
    other = student()
    enroll(other, world.course.id)
    deliver()
    mine = [ok(attempt(world.enrolled, item, answers_to(quiz, n % 4)), 201)["id"] for n in range(5)]
    theirs = ok(attempt(other, item, answers_to(quiz, 3)), 201)["id"]

    def walk(caller: dict[str, Any], **query: str) -> list[str]:
        seen, cursor = [], None
        while True:
            page = ok(list_attempts(caller, item, limit="2", **query,
                                    **({"cursor": cursor} if cursor else {})))  # fmt: skip
            seen += [a["id"] for a in page["items"]]
            cursor = page["nextCursor"]
            if cursor is None:
                return seen

    assert walk(world.enrolled) == list(reversed(mine))
    assert walk(other) == [theirs]
    assert walk(world.owner) == [theirs, *reversed(mine)]
    assert walk(world.owner, userId=world.enrolled["sub"]) == list(reversed(mine))
    # A cursor of one list is refused by another
    cursor = ok(list_attempts(world.enrolled, item, limit="1"))["nextCursor"]
    assert list_attempts(world.owner, item, cursor=cursor).status == 400


def test_an_unpublished_quiz_is_not_answered(world: World) -> None:
    item = ok(create_item(world.owner, world.course.id, world.lesson, "quiz"), 201)["id"]
    ok(put_questions(world.owner, item))
    assert attempt(world.enrolled, item, {}).status == 404
    assert attempt(world.owner, item, {}).status == 409
