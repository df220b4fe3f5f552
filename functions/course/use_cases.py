"""The Course service's use cases: each one unit of work, its events in the same transaction.

Who may do what: roles come from the verified claims only; whether the caller is one of
a course's instructors comes from ``course_instructors``. A course's rights -- changing
it, seeing it as a draft -- need both, or ADMIN (``lms_platform.rights.teaches``, the rule
the Enrollment service applies too). Anyone else gets the same 404 for a draft as for a
missing course.

Instructors: only a user this service knows (from User events) to exist, be ACTIVE and
hold INSTRUCTOR is made one (404 for an unknown user, 409 otherwise); a course has at most
20. Each course has one OWNER, who stays until they hand the ownership to another
instructor (``transfer_ownership``) or an administrator removes them, and the last
instructor always stays.

Ordering: every change to a course's structure runs under the course row's lock (taken
by ``store.CLAIM``), reads the outline, computes the new whole order in Python and writes
the sort orders that changed in one statement. Edits of one course therefore take turns,
and each module's and each course's sort orders stay exactly 0..n-1; the deferred unique
constraints on (parent, sort_order) check that at every commit.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from functions.course import store
from functions.course.models import (
    MAX_INSTRUCTORS_PER_COURSE,
    MAX_LESSONS_PER_COURSE,
    MAX_MODULES_PER_COURSE,
    AddLesson,
    AddModule,
    Course,
    CourseInstructors,
    CoursePage,
    CourseSummary,
    CreateCourse,
    Instructor,
    InstructorRole,
    Lesson,
    Module,
    MoveLesson,
    UpdateCourse,
    UpdateLesson,
)
from lms_events import course as events
from lms_platform import observability
from lms_platform.db import Row, UnitOfWork, is_unique_violation
from lms_platform.http import Conflict, Forbidden, NotFound, Principal, Problem
from lms_platform.pagination import decode_cursor, keyset_page
from lms_platform.rights import TEACHER_ROLE, teaches

T = TypeVar("T")

CATALOG_SCOPE = "courses"
EDITOR_ROLES = ("INSTRUCTOR", "ADMIN")


class CourseNotFound(NotFound):
    title = "Course not found"


class ModuleNotFound(NotFound):
    title = "Module not found"


class LessonNotFound(NotFound):
    title = "Lesson not found"


class SlugTaken(Conflict):
    title = "Slug already in use"


class NotAnInstructor(Forbidden):
    title = "Not an instructor of this course"


class CannotPublish(Conflict):
    title = "Course cannot be published"


class OrderMismatch(Conflict):
    title = "Order does not match the current items"


class LastInstructor(Conflict):
    title = "A course keeps at least one instructor"


class LastLesson(Conflict):
    title = "A published course keeps at least one lesson"


class TooMany(Conflict):
    title = "Course too large"


class UserNotFound(NotFound):
    title = "User not found"


class CannotTeach(Conflict):
    title = "User cannot teach"


class TooManyInstructors(Conflict):
    title = "Too many instructors"


class OwnerStays(Conflict):
    title = "The owner stays"


class NotTheOwner(Forbidden):
    title = "Not the owner of this course"


# --- reading --------------------------------------------------------------------------------


def _course(row: Row) -> Course:
    return Course.model_validate({k: v for k, v in row.items() if k != "is_instructor"})


def _summary(row: Row) -> CourseSummary:
    return CourseSummary.model_validate({k: row[k] for k in CourseSummary.model_fields})


def _may_see(caller: Principal | None, row: Row) -> bool:
    return row["status"] != "DRAFT" or teaches(caller, member=bool(row["is_instructor"]))


def get_course(caller: Principal | None, id_or_slug: str) -> Course:
    """A course by id or slug, in one statement; a draft only for its instructors and admins."""
    user_id = caller.user_id if caller else None
    try:
        course_id = uuid.UUID(id_or_slug)
    except ValueError:
        row = store.db().read_one(store.DETAIL_BY_SLUG, slug=id_or_slug.lower(), user_id=user_id)
    else:
        row = store.db().read_one(store.DETAIL_BY_ID, course_id=course_id, user_id=user_id)
    if row is None or not _may_see(caller, row):
        raise CourseNotFound(f"no course {id_or_slug}")
    return _course(row)


def _like_pattern(search: str) -> str:
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def catalog(*, limit: int, cursor: str | None, search: str | None) -> CoursePage:
    """Published courses, newest first: one statement, the same cost at any depth."""
    pattern = _like_pattern(search) if search else None
    if cursor:
        created_at, course_id = decode_cursor(CATALOG_SCOPE, cursor)
        rows = store.db().read(
            store.CATALOG_AFTER,
            pattern=pattern,
            created_at=created_at,
            id=course_id,
            limit=limit + 1,
        )
    else:
        rows = store.db().read(store.CATALOG_FIRST, pattern=pattern, limit=limit + 1)
    page, next_cursor = keyset_page(rows, limit, CATALOG_SCOPE, "created_at")
    return CoursePage(items=[_summary(r) for r in page], next_cursor=next_cursor)


# --- creating and changing a course ---------------------------------------------------------


def slugify(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:64].strip("-")
    if len(slug) < 2:
        slug = f"course-{slug}".strip("-")
    try:
        uuid.UUID(slug)
    except ValueError:
        return slug
    return f"course-{slug}"


def _header(kind: type[events.CourseHeader], course: Row, **extra: Any) -> events.CourseHeader:
    return kind(
        course_id=course["id"],
        version=course["version"],
        title=course["title"],
        slug=course["slug"],
        description=course["description"],
        status=course["status"],
        requires_subscription=course["requires_subscription"],
        **extra,
    )


def _require_editor(caller: Principal) -> None:
    if not caller.roles.intersection(EDITOR_ROLES):
        raise Forbidden(f"this operation needs one of the roles: {', '.join(EDITOR_ROLES)}")


def create_course(caller: Principal, command: CreateCourse) -> Course:
    _require_editor(caller)
    # A slug made from the title may be taken: then a short random suffix tells it apart.
    base = slugify(command.title)
    candidates = (
        [command.slug]
        if command.slug
        else [base, *(f"{base}-{secrets.token_hex(3)}" for _ in range(3))]
    )

    def work(uow: UnitOfWork) -> Course:
        course_id = uuid.uuid4()
        for slug in candidates:
            created = uow.fetch_one(
                store.CREATE_COURSE,
                id=course_id,
                title=command.title,
                slug=slug,
                description=command.description,
                requires_subscription=command.requires_subscription,
                user_id=caller.user_id,
            )
            if created is not None:
                break
        else:
            raise SlugTaken(f"the slug {candidates[0]!r} is taken")
        uow.outbox.add(
            _header(events.CourseCreated, created, created_by=caller.user_id),
            aggregate_id=course_id,
        )
        uow.outbox.add(
            events.InstructorAssigned(
                course_id=course_id,
                version=created["version"],
                user_id=caller.user_id,
                role="OWNER",
            ),
            aggregate_id=course_id,
        )
        detail = uow.fetch_one(store.DETAIL_BY_ID, course_id=course_id, user_id=caller.user_id)
        uow.commit()
        assert detail is not None
        return _course(detail)

    course = store.db().transaction(work)
    observability.count("CoursesCreated")
    return course


def _edit(caller: Principal, course_id: uuid.UUID, change: Callable[[UnitOfWork, Row], T]) -> T:
    """Run ``change`` on the claimed (locked, version-raised) course, if the caller may."""
    _require_editor(caller)

    def work(uow: UnitOfWork) -> T:
        course = uow.fetch_one(store.CLAIM, course_id=course_id, user_id=caller.user_id)
        if course is None or not _may_see(caller, course):
            raise CourseNotFound(f"no course {course_id}")
        if not teaches(caller, member=bool(course["is_instructor"])):
            raise NotAnInstructor("only the course's instructors and admins may change it")
        result = change(uow, course)
        uow.commit()
        return result

    return store.db().transaction(work)


def _detail(uow: UnitOfWork, caller: Principal, course_id: uuid.UUID) -> Course:
    row = uow.fetch_one(store.DETAIL_BY_ID, course_id=course_id, user_id=caller.user_id)
    assert row is not None
    return _course(row)


def update_course(caller: Principal, course_id: uuid.UUID, change: UpdateCourse) -> Course:
    def apply(uow: UnitOfWork, course: Row) -> Course:
        row = uow.fetch_one(
            store.UPDATE_COURSE,
            course_id=course_id,
            title=change.title,
            slug=change.slug,
            set_description="description" in change.model_fields_set,
            description=change.description,
            requires_subscription=change.requires_subscription,
        )
        assert row is not None
        uow.outbox.add(_header(events.CourseUpdated, row), aggregate_id=course_id)
        return _detail(uow, caller, course_id)

    try:
        return _edit(caller, course_id, apply)
    except Exception as error:
        if is_unique_violation(error, "uq_courses_slug"):
            raise SlugTaken(f"the slug {change.slug!r} is taken") from error
        raise


def publish(caller: Principal, course_id: uuid.UUID) -> Course:
    """DRAFT or ARCHIVED to PUBLISHED; needs a lesson. Publishing a published course is a no-op."""

    def apply(uow: UnitOfWork, course: Row) -> Course:
        if course["status"] != "PUBLISHED":
            outline = _outline(uow, course_id)
            if not outline.lesson_ids():
                raise CannotPublish("a course needs at least one lesson to be published")
            row = uow.fetch_one(store.SET_STATUS, course_id=course_id, status="PUBLISHED")
            assert row is not None
            uow.outbox.add(
                _header(events.CoursePublished, row, lesson_ids=outline.lesson_ids()),
                aggregate_id=course_id,
            )
        return _detail(uow, caller, course_id)

    return _edit(caller, course_id, apply)


def archive(caller: Principal, course_id: uuid.UUID) -> Course:
    """Out of the catalog; enrolled students keep their access. A repeat is a no-op."""

    def apply(uow: UnitOfWork, course: Row) -> Course:
        if course["status"] != "ARCHIVED":
            row = uow.fetch_one(store.SET_STATUS, course_id=course_id, status="ARCHIVED")
            assert row is not None
            uow.outbox.add(_header(events.CourseArchived, row), aggregate_id=course_id)
        return _detail(uow, caller, course_id)

    return _edit(caller, course_id, apply)


# --- instructors ----------------------------------------------------------------------------


def _instructors(uow: UnitOfWork, course_id: uuid.UUID) -> CourseInstructors:
    rows = uow.fetch(store.INSTRUCTORS, course_id=course_id)
    return CourseInstructors(
        course_id=course_id, instructors=[Instructor.model_validate(r) for r in rows]
    )


def _require_teacher(
    uow: UnitOfWork, user_id: uuid.UUID, *, unknown: type[Problem] = UserNotFound
) -> None:
    """``user_id`` may be made an instructor: known, ACTIVE, holding INSTRUCTOR (as this
    service last heard from the User service)."""
    user = uow.fetch_one(store.USER_FACTS, user_id=user_id)
    if user is None:
        raise unknown(f"no user {user_id} known to the Course service")
    if user["status"] != "ACTIVE":
        raise CannotTeach(f"user {user_id} is suspended")
    if TEACHER_ROLE not in (user["roles"] or []):
        raise CannotTeach(f"user {user_id} does not hold the {TEACHER_ROLE} role")


def _announce_instructor(
    uow: UnitOfWork, course: Row, user_id: uuid.UUID, role: InstructorRole
) -> None:
    uow.outbox.add(
        events.InstructorAssigned(
            course_id=course["id"], version=course["version"], user_id=user_id, role=role
        ),
        aggregate_id=course["id"],
    )


def _add_instructor(
    uow: UnitOfWork,
    course: Row,
    current: CourseInstructors,
    user_id: uuid.UUID,
    role: InstructorRole,
) -> None:
    if len(current.instructors) >= MAX_INSTRUCTORS_PER_COURSE:
        raise TooManyInstructors(f"a course has at most {MAX_INSTRUCTORS_PER_COURSE} instructors")
    uow.execute(store.ASSIGN_INSTRUCTOR, course_id=course["id"], user_id=user_id, role=role)
    _announce_instructor(uow, course, user_id, role)


def assign_instructor(
    caller: Principal, course_id: uuid.UUID, user_id: uuid.UUID
) -> CourseInstructors:
    """Make ``user_id`` an instructor of the course; a repeat changes nothing."""

    def apply(uow: UnitOfWork, course: Row) -> CourseInstructors:
        current = _instructors(uow, course_id)
        if any(i.user_id == user_id for i in current.instructors):
            return current
        _require_teacher(uow, user_id)
        _add_instructor(uow, course, current, user_id, "INSTRUCTOR")
        return _instructors(uow, course_id)

    return _edit(caller, course_id, apply)


def remove_instructor(
    caller: Principal, course_id: uuid.UUID, user_id: uuid.UUID
) -> CourseInstructors:
    """Take ``user_id`` off the course; a repeat changes nothing. The last instructor
    stays; the owner goes only by an administrator's hand, and then the longest-serving
    instructor left becomes the owner."""

    def apply(uow: UnitOfWork, course: Row) -> CourseInstructors:
        current = _instructors(uow, course_id)
        target = next((i for i in current.instructors if i.user_id == user_id), None)
        if target is None:
            return current
        if len(current.instructors) == 1:
            raise LastInstructor("assign another instructor before removing the last one")
        if target.role == "OWNER" and not caller.is_admin:
            if user_id == caller.user_id:
                raise OwnerStays("hand the ownership to another instructor first")
            raise NotTheOwner("only an administrator may remove the course's owner")
        uow.execute(store.REMOVE_INSTRUCTOR, course_id=course_id, user_id=user_id)
        uow.outbox.add(
            events.InstructorRemoved(
                course_id=course_id, version=course["version"], user_id=user_id
            ),
            aggregate_id=course_id,
        )
        if target.role == "OWNER":
            heir = next(i for i in current.instructors if i.user_id != user_id)  # in order
            uow.execute(
                store.SET_INSTRUCTOR_ROLE, course_id=course_id, user_id=heir.user_id, role="OWNER"
            )
            _announce_instructor(uow, course, heir.user_id, "OWNER")
        return _instructors(uow, course_id)

    return _edit(caller, course_id, apply)


def transfer_ownership(
    caller: Principal, course_id: uuid.UUID, user_id: uuid.UUID
) -> CourseInstructors:
    """The owner (or an administrator) hands the course to ``user_id``, who must be able to
    teach and becomes an instructor if not one yet; the old owner stays as an instructor.
    Handing it to its owner changes nothing."""

    def apply(uow: UnitOfWork, course: Row) -> CourseInstructors:
        current = _instructors(uow, course_id)
        owner = next((i for i in current.instructors if i.role == "OWNER"), None)
        if not caller.is_admin and (owner is None or owner.user_id != caller.user_id):
            raise NotTheOwner("only the course's owner or an administrator hands it over")
        if owner is not None and owner.user_id == user_id:
            return current
        # A user named in the body, not the path: someone who cannot be the owner (409),
        # where a 404 would say the course is missing.
        _require_teacher(uow, user_id, unknown=CannotTeach)
        if owner is not None:
            uow.execute(
                store.SET_INSTRUCTOR_ROLE,
                course_id=course_id,
                user_id=owner.user_id,
                role="INSTRUCTOR",
            )
            _announce_instructor(uow, course, owner.user_id, "INSTRUCTOR")
        if any(i.user_id == user_id for i in current.instructors):
            uow.execute(
                store.SET_INSTRUCTOR_ROLE, course_id=course_id, user_id=user_id, role="OWNER"
            )
            _announce_instructor(uow, course, user_id, "OWNER")
        else:
            _add_instructor(uow, course, current, user_id, "OWNER")
        return _instructors(uow, course_id)

    return _edit(caller, course_id, apply)


# --- outline: modules and lessons -----------------------------------------------------------


@dataclass
class Outline:
    """The course's modules and their lessons, in order, as read under the course's lock."""

    modules: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)

    def lesson_ids(self) -> list[uuid.UUID]:
        return [lesson for lessons in self.modules.values() for lesson in lessons]

    def module_of(self, lesson_id: uuid.UUID) -> uuid.UUID | None:
        for module_id, lessons in self.modules.items():
            if lesson_id in lessons:
                return module_id
        return None


def _outline(uow: UnitOfWork, course_id: uuid.UUID) -> Outline:
    outline = Outline()
    for row in uow.fetch(store.OUTLINE, course_id=course_id):
        lessons = outline.modules.setdefault(row["module_id"], [])
        if row["lesson_id"] is not None:
            lessons.append(row["lesson_id"])
    return outline


def _place(items: list[uuid.UUID], item: uuid.UUID, position: int | None) -> None:
    items.insert(len(items) if position is None else min(position, len(items)), item)


def _write_module_order(uow: UnitOfWork, course_id: uuid.UUID, outline: Outline) -> None:
    uow.execute(store.SET_MODULE_ORDER, course_id=course_id, ids=list(outline.modules))


def _write_lesson_order(uow: UnitOfWork, outline: Outline, *module_ids: uuid.UUID) -> None:
    ids, modules, orders = [], [], []
    for module_id in dict.fromkeys(module_ids):
        for order, lesson_id in enumerate(outline.modules[module_id]):
            ids.append(lesson_id)
            modules.append(module_id)
            orders.append(order)
    if ids:
        uow.execute(store.SET_LESSON_ORDER, ids=ids, module_ids=modules, orders=orders)


def _reordered(uow: UnitOfWork, course: Row, outline: Outline) -> None:
    uow.outbox.add(
        events.LessonsReordered(
            course_id=course["id"], version=course["version"], lesson_ids=outline.lesson_ids()
        ),
        aggregate_id=course["id"],
    )


def add_module(caller: Principal, course_id: uuid.UUID, command: AddModule) -> Module:
    def apply(uow: UnitOfWork, course: Row) -> Module:
        outline = _outline(uow, course_id)
        if len(outline.modules) >= MAX_MODULES_PER_COURSE:
            raise TooMany(f"a course has at most {MAX_MODULES_PER_COURSE} modules")
        module_id = uuid.uuid4()
        order = list(outline.modules)
        _place(order, module_id, command.position)
        row = uow.fetch_one(
            store.ADD_MODULE,
            id=module_id,
            course_id=course_id,
            title=command.title,
            sort_order=order.index(module_id),
        )
        assert row is not None
        outline.modules = {m: outline.modules.get(m, []) for m in order}
        _write_module_order(uow, course_id, outline)
        # A new module is empty: the course's lesson order, and so the events, are unchanged.
        return Module(id=row["id"], title=row["title"], sort_order=row["sort_order"], lessons=[])

    return _edit(caller, course_id, apply)


def rename_module(
    caller: Principal, course_id: uuid.UUID, module_id: uuid.UUID, title: str
) -> Module:
    def apply(uow: UnitOfWork, course: Row) -> Module:
        row = uow.fetch_one(
            store.RENAME_MODULE, course_id=course_id, module_id=module_id, title=title
        )
        if row is None:
            raise ModuleNotFound(f"no module {module_id} in course {course_id}")
        detail = _detail(uow, caller, course_id)
        return next(m for m in detail.modules if m.id == module_id)

    return _edit(caller, course_id, apply)


def reorder_modules(caller: Principal, course_id: uuid.UUID, module_ids: list[uuid.UUID]) -> Course:
    def apply(uow: UnitOfWork, course: Row) -> Course:
        outline = _outline(uow, course_id)
        if len(module_ids) != len(set(module_ids)) or set(module_ids) != set(outline.modules):
            raise OrderMismatch("moduleIds must list every module of the course exactly once")
        before = outline.lesson_ids()
        outline.modules = {m: outline.modules[m] for m in module_ids}
        _write_module_order(uow, course_id, outline)
        if outline.lesson_ids() != before:
            _reordered(uow, course, outline)
        return _detail(uow, caller, course_id)

    return _edit(caller, course_id, apply)


def remove_module(caller: Principal, course_id: uuid.UUID, module_id: uuid.UUID) -> Course:
    """The module and its lessons go; each lesson removed is announced."""

    def apply(uow: UnitOfWork, course: Row) -> Course:
        outline = _outline(uow, course_id)
        if module_id not in outline.modules:
            raise ModuleNotFound(f"no module {module_id} in course {course_id}")
        gone = outline.modules.pop(module_id)
        if gone and course["status"] == "PUBLISHED" and not outline.lesson_ids():
            raise LastLesson("archive the course rather than remove its last lesson")
        uow.execute(store.DELETE_MODULE, course_id=course_id, module_id=module_id)
        _write_module_order(uow, course_id, outline)
        remaining = outline.lesson_ids()
        for lesson_id in gone:
            uow.outbox.add(
                events.LessonRemoved(
                    course_id=course_id,
                    version=course["version"],
                    lesson_id=lesson_id,
                    module_id=module_id,
                    lesson_ids=remaining,
                ),
                aggregate_id=course_id,
            )
        return _detail(uow, caller, course_id)

    return _edit(caller, course_id, apply)


def add_lesson(
    caller: Principal, course_id: uuid.UUID, module_id: uuid.UUID, command: AddLesson
) -> Lesson:
    def apply(uow: UnitOfWork, course: Row) -> Lesson:
        outline = _outline(uow, course_id)
        if module_id not in outline.modules:
            raise ModuleNotFound(f"no module {module_id} in course {course_id}")
        if len(outline.lesson_ids()) >= MAX_LESSONS_PER_COURSE:
            raise TooMany(f"a course has at most {MAX_LESSONS_PER_COURSE} lessons")
        lesson_id = uuid.uuid4()
        _place(outline.modules[module_id], lesson_id, command.position)
        row = uow.fetch_one(
            store.ADD_LESSON,
            id=lesson_id,
            module_id=module_id,
            title=command.title,
            type=command.type,
            duration_minutes=command.duration_minutes,
            sort_order=outline.modules[module_id].index(lesson_id),
        )
        assert row is not None
        _write_lesson_order(uow, outline, module_id)
        lesson = Lesson.model_validate(row)
        uow.outbox.add(
            events.LessonAdded(
                course_id=course_id,
                version=course["version"],
                lesson_id=lesson_id,
                module_id=module_id,
                title=lesson.title,
                type=lesson.type,
                duration_minutes=lesson.duration_minutes,
                lesson_ids=outline.lesson_ids(),
            ),
            aggregate_id=course_id,
        )
        return lesson

    return _edit(caller, course_id, apply)


def update_lesson(
    caller: Principal, course_id: uuid.UUID, lesson_id: uuid.UUID, change: UpdateLesson
) -> Lesson:
    def apply(uow: UnitOfWork, course: Row) -> Lesson:
        row = uow.fetch_one(
            store.UPDATE_LESSON,
            course_id=course_id,
            lesson_id=lesson_id,
            title=change.title,
            type=change.type,
            set_duration="duration_minutes" in change.model_fields_set,
            duration_minutes=change.duration_minutes,
        )
        if row is None:
            raise LessonNotFound(f"no lesson {lesson_id} in course {course_id}")
        return Lesson.model_validate(row)

    return _edit(caller, course_id, apply)


def reorder_lessons(
    caller: Principal, course_id: uuid.UUID, module_id: uuid.UUID, lesson_ids: list[uuid.UUID]
) -> Course:
    def apply(uow: UnitOfWork, course: Row) -> Course:
        outline = _outline(uow, course_id)
        if module_id not in outline.modules:
            raise ModuleNotFound(f"no module {module_id} in course {course_id}")
        current = outline.modules[module_id]
        if len(lesson_ids) != len(set(lesson_ids)) or set(lesson_ids) != set(current):
            raise OrderMismatch("lessonIds must list every lesson of the module exactly once")
        if lesson_ids != current:
            outline.modules[module_id] = list(lesson_ids)
            _write_lesson_order(uow, outline, module_id)
            _reordered(uow, course, outline)
        return _detail(uow, caller, course_id)

    return _edit(caller, course_id, apply)


def move_lesson(
    caller: Principal, course_id: uuid.UUID, lesson_id: uuid.UUID, command: MoveLesson
) -> Course:
    """To another place in its module or in another module of the same course."""

    def apply(uow: UnitOfWork, course: Row) -> Course:
        outline = _outline(uow, course_id)
        source = outline.module_of(lesson_id)
        if source is None:
            raise LessonNotFound(f"no lesson {lesson_id} in course {course_id}")
        if command.module_id not in outline.modules:
            raise ModuleNotFound(f"no module {command.module_id} in course {course_id}")
        before = outline.lesson_ids()
        outline.modules[source].remove(lesson_id)
        _place(outline.modules[command.module_id], lesson_id, command.position)
        _write_lesson_order(uow, outline, source, command.module_id)
        if outline.lesson_ids() != before:
            _reordered(uow, course, outline)
        return _detail(uow, caller, course_id)

    return _edit(caller, course_id, apply)


def remove_lesson(caller: Principal, course_id: uuid.UUID, lesson_id: uuid.UUID) -> Course:
    def apply(uow: UnitOfWork, course: Row) -> Course:
        outline = _outline(uow, course_id)
        module_id = outline.module_of(lesson_id)
        if module_id is None:
            raise LessonNotFound(f"no lesson {lesson_id} in course {course_id}")
        outline.modules[module_id].remove(lesson_id)
        if course["status"] == "PUBLISHED" and not outline.lesson_ids():
            raise LastLesson("archive the course rather than remove its last lesson")
        uow.execute(store.DELETE_LESSON, lesson_id=lesson_id)
        _write_lesson_order(uow, outline, module_id)
        uow.outbox.add(
            events.LessonRemoved(
                course_id=course_id,
                version=course["version"],
                lesson_id=lesson_id,
                module_id=module_id,
                lesson_ids=outline.lesson_ids(),
            ),
            aggregate_id=course_id,
        )
        return _detail(uow, caller, course_id)

    return _edit(caller, course_id, apply)
