"""The Content service's use cases: each one unit of work, its events in the same transaction.

Who may do what (roles from the verified claims only; the rest from this service's read
models, fed by Course and Enrollment events):

- a course's instructors -- an active instructor of the course in ``course_instructors``
  *and* the INSTRUCTOR role in the token -- and admins manage its content: they see every
  item, version and attempt, upload, publish and write questions;
- a user with an enrollment in the course that is not cancelled (active or completed:
  the shared read model of enrollments keeps enrolled against cancelled) sees what is
  published: items with a current version whose lesson is still in the course, the
  published file, the published quiz without its correct options; and answers quizzes;
- anyone else gets the same 404 as for a missing item; a student who may see an item but
  asks to manage it gets 403.

Files (the rule, and why): a version is created PENDING with a presigned PUT that binds its
size and SHA-256; completing it checks the object itself (``files.check_object``) and
makes it READY or REJECTED -- a REJECTED version's object is deleted; only a READY version
can be published, so no file reaches a student unchecked, whatever the emulator or S3
enforced on the way in. The checks read S3 outside any transaction (seconds for a large
file), then one short transaction records the verdict; a second complete of the same
version answers what the first decided.

Retirement: when a lesson leaves its course or the course is archived (Course events), the
consumer retires the items (``retirement``); a retired item changes no more. Students keep
seeing an archived course's published items (the Course service promises enrolled
students their access), not those of a removed lesson. Publishing the course again
restores what its archive retired.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.content import files, grading, store
from functions.content.models import (
    DEFAULT_PASS_MARK_PCT,
    AnsweredQuestion,
    Attempt,
    AttemptPage,
    ContentItem,
    ContentList,
    CreateContent,
    Download,
    LearnerQuiz,
    ManagedQuiz,
    PutQuestions,
    Question,
    StartUpload,
    SubmitAttempt,
    Upload,
    UploadStarted,
    Version,
    VersionPage,
)
from functions.content.service import SERVICE
from lms_events import content as events
from lms_platform import observability, s3
from lms_platform.db import Row, UnitOfWork
from lms_platform.http import (
    Conflict,
    Forbidden,
    NotFound,
    Principal,
    Problem,
    ServiceUnavailable,
)
from lms_platform.pagination import decode_cursor, encode_cursor, keyset_after, keyset_page

STAFF_ROLES = ("INSTRUCTOR", "ADMIN")
MAX_ITEMS_PER_LESSON = 50


class CourseNotFound(NotFound):
    title = "Course not found"


class LessonNotFound(NotFound):
    title = "Lesson not found"


class ContentNotFound(NotFound):
    title = "Content not found"


class VersionNotFound(NotFound):
    title = "Version not found"


class NotAnInstructor(Forbidden):
    title = "Not an instructor of this course"


class NotEnrolled(Forbidden):
    title = "Not enrolled in this course"


class ContentRetired(Conflict):
    title = "Content retired"


class CourseArchived(Conflict):
    title = "Course archived"


class TooManyItems(Conflict):
    title = "Too many items in this lesson"


class WrongType(Conflict):
    title = "Not possible for this type of content"


class NotReady(Conflict):
    title = "Version not ready"


class UploadMissing(Conflict):
    title = "No file uploaded"


class UploadChanged(Conflict):
    title = "File replaced while it was checked"


class AttemptIdTaken(Conflict):
    title = "Attempt id already used"


class Unprocessable(Problem):
    status, title = 422, "Invalid request"


class FileRejected(Problem):
    """The uploaded file is not the declared one (``mismatch`` says how); it was deleted."""

    status, title = 422, "File rejected"


def _invalid(field: str, message: str) -> Unprocessable:
    return Unprocessable(
        "the request does not match the expected shape",
        errors=[{"location": ["body", field], "message": message, "type": "value_error"}],
    )


# --- who may see and do what ------------------------------------------------------------------


def _manages(caller: Principal, row: Row) -> bool:
    return caller.is_admin or (caller.has_role("INSTRUCTOR") and bool(row["teaches"]))


def _published_to_students(row: Row) -> bool:
    return row["current_version_id"] is not None and row["retired_reason"] != "LESSON_REMOVED"


def _require_visible(caller: Principal, row: Row | None, item_id: uuid.UUID) -> bool:
    """Whether the caller manages the item; 404 when they may not see it at all."""
    if row is None:
        raise ContentNotFound(f"no content {item_id}")
    if _manages(caller, row):
        return True
    if row["enrolled"] and _published_to_students(row):
        return False
    raise ContentNotFound(f"no content {item_id}")


def _require_manager(caller: Principal, row: Row | None, item_id: uuid.UUID) -> None:
    if not _require_visible(caller, row, item_id):
        raise NotAnInstructor("only the course's instructors and admins manage its content")


def _require_active(row: Row) -> None:
    if row["retired_at"] is not None:
        reason = (
            "its lesson was removed"
            if row["retired_reason"] == "LESSON_REMOVED"
            else ("its course is archived")
        )
        raise ContentRetired(f"this content is retired: {reason}")


def _require_type(row: Row, *types: str) -> None:
    if row["type"] not in types:
        raise WrongType(f"a {row['type']} item cannot do this; it takes {' or '.join(types)}")


def _item(row: Row) -> ContentItem:
    return ContentItem.model_validate({k: row[k] for k in ContentItem.model_fields})


# --- items ------------------------------------------------------------------------------------


def create_content(
    caller: Principal, course_id: uuid.UUID, lesson_id: uuid.UUID, command: CreateContent
) -> ContentItem:
    """A new item in a lesson the read model knows in that course."""
    if not caller.roles.intersection(STAFF_ROLES):
        raise Forbidden(f"this operation needs one of the roles: {', '.join(STAFF_ROLES)}")

    def work(uow: UnitOfWork) -> ContentItem:
        course = uow.fetch_one(store.LOCK_COURSE, course_id=course_id, user_id=caller.user_id)
        if course is None or not _manages(caller, course):
            raise CourseNotFound(f"no course {course_id} among the caller's courses")
        lesson = uow.fetch_one(store.LESSON_OF_COURSE, course_id=course_id, lesson_id=lesson_id)
        assert lesson is not None
        if not lesson["has_lesson"]:
            raise LessonNotFound(f"no lesson {lesson_id} in course {course_id}")
        if course["status"] == "ARCHIVED":
            raise CourseArchived("an archived course takes no new content; publish it first")
        if lesson["items"] >= MAX_ITEMS_PER_LESSON:
            raise TooManyItems(f"a lesson holds at most {MAX_ITEMS_PER_LESSON} items")
        pass_mark = None
        if command.type == "quiz":
            pass_mark = command.pass_mark_pct or DEFAULT_PASS_MARK_PCT
        row = uow.fetch_one(
            store.CREATE_ITEM,
            id=uuid.uuid4(),
            course_id=course_id,
            lesson_id=lesson_id,
            type=command.type,
            title=command.title,
            pass_mark_pct=pass_mark,
            user_id=caller.user_id,
        )
        uow.commit()
        assert row is not None
        return _item(row)

    item = store.db().transaction(work)
    observability.count("ContentItemsCreated")
    return item


def get_content(caller: Principal, item_id: uuid.UUID) -> ContentItem:
    row = store.db().read_one(store.ITEM, item_id=item_id, user_id=caller.user_id)
    _require_visible(caller, row, item_id)
    assert row is not None
    return _item(row)


def lesson_content(caller: Principal, course_id: uuid.UUID, lesson_id: uuid.UUID) -> ContentList:
    """A lesson's items in the order they were added: all of them for its instructors,
    what is published for its students."""
    course = store.db().read_one(
        store.COURSE_STANDING, course_id=course_id, lesson_id=lesson_id, user_id=caller.user_id
    )
    if course is None:
        raise CourseNotFound(f"no course {course_id}")
    manager = _manages(caller, course)
    if not (manager or course["enrolled"]):
        raise CourseNotFound(f"no course {course_id}")
    rows = store.db().read(
        store.LESSON_ITEMS, course_id=course_id, lesson_id=lesson_id, everything=manager
    )
    if not rows and not course["has_lesson"]:
        raise LessonNotFound(f"no lesson {lesson_id} in course {course_id}")
    return ContentList(items=[_item(r) for r in rows])


# --- files ------------------------------------------------------------------------------------


def start_upload(caller: Principal, item_id: uuid.UUID, command: StartUpload) -> UploadStarted:
    """A new PENDING version of a file item and the presigned PUT that uploads its file."""

    def work(uow: UnitOfWork) -> tuple[int, uuid.UUID, str, datetime]:
        row = uow.fetch_one(store.LOCK_ITEM, item_id=item_id, user_id=caller.user_id)
        _require_manager(caller, row, item_id)
        assert row is not None
        _require_type(row, *files.ACCEPTED)
        _require_active(row)
        accepted, largest = files.ACCEPTED[row["type"]]
        if command.content_type not in accepted:
            raise _invalid("contentType", f"a {row['type']} is one of: {', '.join(accepted)}")
        if command.size_bytes > largest:
            raise _invalid("sizeBytes", f"a {row['type']} has at most {largest} bytes")
        if command.duration_secs is not None and row["type"] != "video":
            raise _invalid("durationSecs", "only a video has a duration")
        version_id = uuid.uuid4()
        key = files.object_key(SERVICE.bucket_prefix or "", item_id, version_id)
        now = datetime.now(UTC).replace(microsecond=0)
        started = uow.fetch_one(
            store.START_VERSION,
            id=version_id,
            item_id=item_id,
            storage_path=key,
            checksum=command.checksum_sha256,
            file_name=command.file_name,
            mime_type=command.content_type,
            size_bytes=command.size_bytes,
            duration_secs=command.duration_secs,
            upload_expires_at=now + timedelta(seconds=files.UPLOAD_SECONDS),
            user_id=caller.user_id,
        )
        assert started is not None
        uow.commit()
        return int(started["version"]), version_id, key, now

    number, version_id, key, now = store.db().transaction(work)
    presigned = s3.client().presign_put(
        files.bucket(),
        key,
        content_type=command.content_type,
        content_length=command.size_bytes,
        checksum_sha256=s3.sha256_base64(command.checksum_sha256),
        tagging=files.PENDING_TAGGING,
        expires_in=files.UPLOAD_SECONDS,
        now=now,
    )
    observability.count("UploadsStarted")
    return UploadStarted(
        version_id=version_id,
        version=number,
        upload=Upload(
            method="PUT",
            url=presigned.url,
            headers=presigned.headers,
            expires_at=presigned.expires_at,
        ),
    )


def _version(version_id: uuid.UUID) -> Version:
    row = store.db().read_one(store.VERSION_DETAIL, version_id=version_id)
    assert row is not None
    return Version.model_validate(row["version"])


def _record(item_id: uuid.UUID, version_id: uuid.UUID, rejected: str | None) -> Row:
    """The verdict on a PENDING version, unless another completion recorded one first;
    the version as it then is."""

    def work(uow: UnitOfWork) -> Row:
        row = uow.fetch_one(store.LOCK_VERSION, version_id=version_id, item_id=item_id)
        assert row is not None
        if row["status"] == "PENDING":
            if rejected is None:
                uow.execute(store.MARK_READY, version_id=version_id)
                row = {"status": "READY", "rejected_reason": None}
            else:
                uow.execute(store.MARK_REJECTED, version_id=version_id, reason=rejected)
                row = {"status": "REJECTED", "rejected_reason": rejected}
        uow.commit()
        return row

    return store.db().transaction(work)


def _reject(item_id: uuid.UUID, version_id: uuid.UUID, key: str, reason: str) -> Row:
    """Record the version REJECTED (the database first: it can then never be published),
    then delete its object -- unless another completion found the file good first."""
    recorded = _record(item_id, version_id, reason)
    if recorded["status"] == "REJECTED":
        files.delete_every_version(key)
    return recorded


def complete_upload(caller: Principal, item_id: uuid.UUID, version_id: uuid.UUID) -> Version:
    """Check the uploaded object against what was declared; READY, or REJECTED and gone."""
    try:
        return _complete(caller, item_id, version_id)
    except s3.S3Error as error:
        if error.status == 412:
            raise UploadChanged("the file was replaced while it was checked; try again") from error
        # S3 did not answer, or refused the function (throttling, a missing grant): nothing
        # was recorded that a retry would not record again.
        observability.log_error(SERVICE.name, "the content bucket failed", error=str(error))
        raise ServiceUnavailable("the file store did not answer; try again shortly") from error


def _complete(caller: Principal, item_id: uuid.UUID, version_id: uuid.UUID) -> Version:
    row = store.db().read_one(
        store.ITEM_WITH_VERSION, item_id=item_id, version_id=version_id, user_id=caller.user_id
    )
    _require_manager(caller, row, item_id)
    assert row is not None
    if row["version_id"] is None:
        raise VersionNotFound(f"no version {version_id} of content {item_id}")
    _require_type(row, *files.ACCEPTED)
    key = row["storage_path"]
    if row["status"] == "READY":
        return _version(version_id)
    if row["status"] == "REJECTED":
        files.delete_every_version(key)  # what an interrupted rejection may have left
        raise FileRejected(row["rejected_reason"], versionId=str(version_id))
    if row["retired_at"] is not None:
        _reject(item_id, version_id, key, "the content was retired before the upload completed")
        _require_active(row)
    head = s3.client().head(files.bucket(), key)
    if head is None:
        if row["upload_expires_at"] <= datetime.now(UTC):
            _record(item_id, version_id, "the upload expired before a file arrived")
            raise FileRejected("the upload expired before a file arrived", mismatch="missing")
        raise UploadMissing("no file has been uploaded for this version yet")
    verdict = files.check_object(
        key,
        size_bytes=row["size_bytes"],
        sha256_hex=row["checksum"],
        mime_type=row["mime_type"],
        head=head,
    )
    if verdict.mismatch is not None:
        recorded = _reject(item_id, version_id, key, verdict.detail)
        observability.count("UploadsRejected")
        if recorded["status"] == "READY":  # another completion accepted the file first
            return _version(version_id)
        raise FileRejected(verdict.detail, mismatch=verdict.mismatch)
    # The tag goes before READY is recorded: the lifecycle must never expire a ready file.
    s3.client().delete_tagging(files.bucket(), key)
    _record(item_id, version_id, None)
    observability.count("UploadsCompleted")
    return _version(version_id)


def publish(caller: Principal, item_id: uuid.UUID, version_id: uuid.UUID) -> ContentItem:
    """A READY version becomes the item's current one (an older one again, too: a rollback).
    Publishing the current version again changes nothing."""

    def work(uow: UnitOfWork) -> tuple[ContentItem, bool]:
        row = uow.fetch_one(store.LOCK_ITEM, item_id=item_id, user_id=caller.user_id)
        _require_manager(caller, row, item_id)
        assert row is not None
        _require_active(row)
        version = uow.fetch_one(store.VERSION_OF_ITEM, version_id=version_id, item_id=item_id)
        if version is None:
            raise VersionNotFound(f"no version {version_id} of content {item_id}")
        if version["status"] != "READY":
            raise NotReady(f"a {version['status']} version cannot be published")
        changed = row["current_version_id"] != version_id
        if changed:
            quiz = row["type"] == "quiz"
            published = uow.fetch_one(
                store.PUBLISH,
                item_id=item_id,
                version_id=version_id,
                question_count=version["question_count"] if quiz else None,
            )
            assert published is not None
            uow.outbox.add(
                events.ContentPublished(
                    content_item_id=item_id,
                    course_id=row["course_id"],
                    lesson_id=row["lesson_id"],
                    revision=published["revision"],
                    type=row["type"],
                    title=row["title"],
                    version_id=version_id,
                    version=published["version"],
                    published_at=published["published_at"],
                    mime_type=version["mime_type"],
                    size_bytes=version["size_bytes"],
                    duration_secs=version["duration_secs"],
                    question_count=version["question_count"] if quiz else None,
                ),
                aggregate_id=item_id,
            )
        detail = uow.fetch_one(store.ITEM_DETAIL, item_id=item_id)
        uow.commit()
        assert detail is not None
        return _item(detail), changed

    item, changed = store.db().transaction(work)
    if changed:
        observability.count("ContentPublished")
    return item


def versions(
    caller: Principal, item_id: uuid.UUID, *, limit: int, cursor: str | None
) -> VersionPage:
    """An item's versions, newest first, for its instructors and admins."""
    row = store.db().read_one(store.ITEM, item_id=item_id, user_id=caller.user_id)
    _require_manager(caller, row, item_id)
    scope = f"content/{item_id}/versions"
    if cursor:
        (after,) = decode_cursor(scope, cursor)
        rows = store.db().read(
            store.VERSIONS_AFTER, item_id=item_id, after=int(after), limit=limit + 1
        )
    else:
        rows = store.db().read(store.VERSIONS, item_id=item_id, limit=limit + 1)
    page = rows[:limit]
    next_cursor = encode_cursor(scope, [page[-1]["number"]]) if len(rows) > limit else None
    return VersionPage(
        items=[Version.model_validate(r["version"]) for r in page], next_cursor=next_cursor
    )


def download(caller: Principal, item_id: uuid.UUID, version_id: uuid.UUID | None) -> Download:
    """A presigned GET of the published file; instructors may name any READY version."""
    row = store.db().read_one(
        store.ITEM_WITH_VERSION, item_id=item_id, version_id=version_id, user_id=caller.user_id
    )
    manager = _require_visible(caller, row, item_id)
    assert row is not None
    _require_type(row, *files.ACCEPTED)
    if row["version_id"] is None or row["status"] != "READY":
        raise VersionNotFound(f"no downloadable version of content {item_id}")
    if not manager and row["version_id"] != row["current_version_id"]:
        raise VersionNotFound(f"no version {version_id} of content {item_id}")
    presigned = s3.client().presign_get(
        files.bucket(),
        row["storage_path"],
        expires_in=files.DOWNLOAD_SECONDS,
        content_disposition=content_disposition(row["file_name"]),
        content_type=row["mime_type"],
    )
    return Download(
        url=presigned.url,
        expires_at=presigned.expires_at,
        version_id=row["version_id"],
        version=row["version"],
        file_name=row["file_name"],
        mime_type=row["mime_type"],
        size_bytes=row["size_bytes"],
    )


def content_disposition(file_name: str) -> str:
    """``attachment`` naming the file: an ASCII fallback, and the exact name in RFC 5987
    form for clients that read it (every current browser)."""
    import unicodedata
    import urllib.parse

    ascii_name = unicodedata.normalize("NFKD", file_name).encode("ascii", "ignore").decode()
    ascii_name = "".join(c if c.isprintable() and c not in '"\\' else "_" for c in ascii_name)
    exact = urllib.parse.quote(file_name, safe="")
    return f"attachment; filename=\"{ascii_name or 'download'}\"; filename*=UTF-8''{exact}"


# --- quizzes ----------------------------------------------------------------------------------


def put_questions(caller: Principal, item_id: uuid.UUID, command: PutQuestions) -> ManagedQuiz:
    """Replace the questions of the quiz's draft: its newest version while that was never
    published, else a new version. What students see changes only when it is published."""

    def work(uow: UnitOfWork) -> ManagedQuiz:
        row = uow.fetch_one(store.LOCK_ITEM, item_id=item_id, user_id=caller.user_id)
        _require_manager(caller, row, item_id)
        assert row is not None
        _require_type(row, "quiz")
        _require_active(row)
        newest = uow.fetch_one(store.NEWEST_VERSION, item_id=item_id)
        if newest is not None and newest["published_at"] is None:
            version_id = newest["id"]
            pass_mark = command.pass_mark_pct or newest["pass_mark_pct"]
            uow.execute(store.DELETE_QUESTIONS, version_id=version_id)
            uow.execute(store.SET_PASS_MARK, version_id=version_id, pass_mark_pct=pass_mark)
        else:
            version_id = uuid.uuid4()
            pass_mark = (
                command.pass_mark_pct
                or (newest["pass_mark_pct"] if newest else None)
                or row["pass_mark_pct"]
            )
            uow.execute(
                store.START_QUIZ_VERSION,
                id=version_id,
                item_id=item_id,
                pass_mark_pct=pass_mark,
                user_id=caller.user_id,
            )
        questions = [
            {"id": str(uuid.uuid4()), **q.model_dump(by_alias=True)} for q in command.questions
        ]
        uow.execute(
            store.INSERT_QUESTIONS,
            item_id=item_id,
            version_id=version_id,
            questions=json.dumps(questions),
        )
        quiz = uow.fetch_one(store.QUIZ, item_id=item_id, version_id=version_id)
        uow.commit()
        assert quiz is not None
        return _managed_quiz(item_id, row["current_version_id"], quiz)

    return store.db().transaction(work)


def _managed_quiz(item_id: uuid.UUID, current: uuid.UUID | None, quiz: Row) -> ManagedQuiz:
    return ManagedQuiz(
        content_item_id=item_id,
        version_id=quiz["version_id"],
        version=quiz["version"],
        status=quiz["status"],
        current=quiz["version_id"] == current,
        published_at=quiz["published_at"],
        pass_mark_pct=quiz["pass_mark_pct"],
        questions=[AnsweredQuestion.model_validate(q) for q in quiz["questions"]],
    )


def questions(
    caller: Principal, item_id: uuid.UUID, version_id: uuid.UUID | None
) -> ManagedQuiz | LearnerQuiz:
    """Instructors: a version whole (the newest unless named). Students: the published
    version, never with the correct options."""
    row = store.db().read_one(store.ITEM, item_id=item_id, user_id=caller.user_id)
    manager = _require_visible(caller, row, item_id)
    assert row is not None
    _require_type(row, "quiz")
    if manager:
        quiz = store.db().read_one(store.QUIZ, item_id=item_id, version_id=version_id)
        if quiz is None:
            raise VersionNotFound(f"no questions yet for content {item_id}")
        return _managed_quiz(item_id, row["current_version_id"], quiz)
    current = row["current_version_id"]
    if version_id not in (None, current):
        raise VersionNotFound(f"no version {version_id} of content {item_id}")
    quiz = store.db().read_one(store.LEARNER_QUIZ, item_id=item_id, version_id=current)
    assert quiz is not None
    return LearnerQuiz(
        content_item_id=item_id,
        version_id=quiz["version_id"],
        version=quiz["version"],
        pass_mark_pct=quiz["pass_mark_pct"],
        questions=[Question.model_validate(q) for q in quiz["questions"]],
    )


def _attempt(row: Row) -> Attempt:
    return Attempt.model_validate({k: row[k] for k in Attempt.model_fields})


def attempt(caller: Principal, item_id: uuid.UUID, command: SubmitAttempt) -> Attempt:
    """An enrolled student answers the published quiz; graded here, stored, announced."""
    row = store.db().read_one(store.ITEM, item_id=item_id, user_id=caller.user_id)
    manager = _require_visible(caller, row, item_id)
    assert row is not None
    if not row["enrolled"]:
        if manager and not _published_to_students(row):
            raise NotReady("the quiz is not published")
        raise NotEnrolled("only a student enrolled in the course answers its quizzes")
    if not _published_to_students(row):
        raise ContentNotFound(f"no content {item_id}")
    _require_type(row, "quiz")
    _require_active(row)
    quiz = store.db().read_one(store.QUIZ, item_id=item_id, version_id=row["current_version_id"])
    assert quiz is not None
    try:
        graded = grading.grade(quiz["questions"], command.answers, quiz["pass_mark_pct"])
    except grading.WrongAnswers as wrong:
        raise Unprocessable(
            "the answers do not fit the published quiz", errors=wrong.errors
        ) from None
    answers = {str(k): v for k, v in command.answers.items()}
    attempt_id = command.attempt_id or uuid.uuid4()

    def work(uow: UnitOfWork) -> tuple[Attempt, bool]:
        stored = uow.fetch_one(
            store.INSERT_ATTEMPT,
            id=attempt_id,
            item_id=item_id,
            version_id=quiz["version_id"],
            user_id=caller.user_id,
            answers=json.dumps(answers),
            results=json.dumps(graded.results),
            correct_count=graded.correct_count,
            question_count=graded.question_count,
            score_pct=graded.score_pct,
            pass_mark_pct=quiz["pass_mark_pct"],
            passed=graded.passed,
        )
        if stored is None:
            existing = uow.fetch_one(store.ATTEMPT, id=attempt_id)
            uow.commit()
            same = (
                existing is not None
                and existing["user_id"] == caller.user_id
                and existing["content_item_id"] == item_id
                and existing["answers"] == answers
            )
            if not same:
                raise AttemptIdTaken("this attemptId was used for other answers")
            assert existing is not None
            return _attempt(existing), False
        uow.outbox.add(
            events.QuizAttempted(
                content_item_id=item_id,
                course_id=row["course_id"],
                lesson_id=row["lesson_id"],
                attempt_id=attempt_id,
                user_id=caller.user_id,
                version_id=quiz["version_id"],
                score_pct=graded.score_pct,
                pass_mark_pct=quiz["pass_mark_pct"],
                passed=graded.passed,
                correct_count=graded.correct_count,
                question_count=graded.question_count,
                attempted_at=stored["created_at"],
            ),
            aggregate_id=attempt_id,
        )
        uow.commit()
        return _attempt(stored), True

    result, created = store.db().transaction(work)
    if created:
        observability.count("QuizAttempts")
        if result.passed:
            observability.count("QuizzesPassed")
    return result


def attempts(
    caller: Principal,
    item_id: uuid.UUID,
    *,
    user_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> AttemptPage:
    """A student's own attempts; an instructor's view of everyone's, or one student's."""
    row = store.db().read_one(store.ITEM, item_id=item_id, user_id=caller.user_id)
    manager = _require_visible(caller, row, item_id)
    assert row is not None
    _require_type(row, "quiz")
    if not manager:
        if user_id not in (None, caller.user_id):
            raise NotAnInstructor("students see their own attempts only")
        user_id = caller.user_id
    scope = f"content/{item_id}/attempts?user={user_id or ''}"
    params: dict[str, Any] = {"item_id": item_id, "limit": limit + 1}
    if user_id is not None:
        params["user_id"] = user_id
    if after := keyset_after(scope, cursor, "created_at"):
        params.update(after)
        sql = store.ATTEMPTS_OF_USER_AFTER if user_id else store.ATTEMPTS_AFTER
    else:
        sql = store.ATTEMPTS_OF_USER if user_id else store.ATTEMPTS
    page, next_cursor = keyset_page(store.db().read(sql, **params), limit, scope, "created_at")
    return AttemptPage(items=[_attempt(r) for r in page], next_cursor=next_cursor)
