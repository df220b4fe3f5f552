"""The Content service's request and response bodies (camelCase on the wire)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from lms_platform.http import ApiModel

ContentType = Literal["video", "pdf", "quiz"]
VersionStatus = Literal["PENDING", "READY", "REJECTED"]
RetiredReason = Literal["LESSON_REMOVED", "COURSE_ARCHIVED"]

DEFAULT_PASS_MARK_PCT = 70
MAX_QUESTIONS = 100
MAX_OPTIONS = 10

Title = Annotated[str, Field(min_length=1, max_length=200)]
PassMark = Annotated[int, Field(ge=1, le=100, description="percent of questions right to pass")]


def _file_name(value: str) -> str:
    # The name comes back in a Content-Disposition header: no control characters, no path.
    if re.search(r"[\x00-\x1f\x7f/\\]", value) or value in {".", ".."}:
        raise ValueError("a file name without control characters, slashes or backslashes")
    return value


FileName = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_file_name)]


def _sha256(value: str) -> str:
    """The SHA-256 as lowercase hex, from hex (``sha256sum``) or base64 (``openssl ...
    -binary | base64``, what S3's ``x-amz-checksum-sha256`` carries)."""
    if re.fullmatch(r"[0-9a-fA-F]{64}", value):
        return value.lower()
    if re.fullmatch(r"[A-Za-z0-9+/]{43}=", value):
        import base64

        return base64.b64decode(value).hex()
    raise ValueError("a SHA-256: 64 hexadecimal digits or 44 characters of base64")


Sha256 = Annotated[str, AfterValidator(_sha256)]
OptionId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


# --- requests ---------------------------------------------------------------------------------


class CreateContent(ApiModel):
    type: ContentType
    title: Title
    # Quizzes only (default 70).
    pass_mark_pct: PassMark | None = None

    @model_validator(mode="after")
    def _pass_mark_for_quizzes(self) -> CreateContent:
        if self.pass_mark_pct is not None and self.type != "quiz":
            raise ValueError("passMarkPct is for quizzes")
        return self


class StartUpload(ApiModel):
    file_name: FileName
    content_type: Annotated[str, Field(min_length=3, max_length=100)]
    size_bytes: Annotated[int, Field(ge=1)]
    checksum_sha256: Sha256
    # Videos only: the running time as the uploader declares it.
    duration_secs: Annotated[int, Field(ge=0, le=24 * 3600)] | None = None


class OptionIn(ApiModel):
    id: OptionId
    text: Annotated[str, Field(min_length=1, max_length=1000)]


class QuestionIn(ApiModel):
    question_text: Annotated[str, Field(min_length=1, max_length=2000)]
    options: Annotated[list[OptionIn], Field(min_length=2, max_length=MAX_OPTIONS)]
    correct_option_id: OptionId

    @model_validator(mode="after")
    def _correct_option_is_an_option(self) -> QuestionIn:
        ids = [o.id for o in self.options]
        if len(set(ids)) != len(ids):
            raise ValueError("option ids must differ within a question")
        if self.correct_option_id not in ids:
            raise ValueError("correctOptionId must be the id of one of the options")
        return self


class PutQuestions(ApiModel):
    questions: Annotated[list[QuestionIn], Field(min_length=1, max_length=MAX_QUESTIONS)]
    # Kept from the quiz's last version when left out.
    pass_mark_pct: PassMark | None = None


class SubmitAttempt(ApiModel):
    # {questionId: optionId}; a question left out counts as wrong.
    answers: Annotated[dict[uuid.UUID, OptionId], Field(max_length=MAX_QUESTIONS)]
    # Chosen by the client to make a retry safe: the same id and answers replay the first
    # answer; the same id with other answers is a 409.
    attempt_id: uuid.UUID | None = None


# --- responses --------------------------------------------------------------------------------


class Version(ApiModel):
    id: uuid.UUID
    version: int
    status: VersionStatus
    # The version students see.
    current: bool
    published_at: datetime | None
    file_name: str | None
    mime_type: str | None
    size_bytes: int | None
    duration_secs: int | None
    # Hex.
    checksum_sha256: str | None
    pass_mark_pct: int | None
    upload_expires_at: datetime | None
    rejected_reason: str | None
    created_at: datetime
    completed_at: datetime | None


class ContentItem(ApiModel):
    id: uuid.UUID
    course_id: uuid.UUID
    lesson_id: uuid.UUID
    type: ContentType
    title: str
    pass_mark_pct: int | None
    # Set when the lesson was removed or the course archived: nothing changes any more.
    retired_at: datetime | None
    retired_reason: RetiredReason | None
    created_at: datetime
    updated_at: datetime
    current_version: Version | None


class ContentList(ApiModel):
    items: list[ContentItem]


class Upload(ApiModel):
    """Send the file as ``method`` to ``url`` with exactly these headers, before
    ``expiresAt``: S3 refuses another size, other bytes and a late or altered request."""

    method: Literal["PUT"]
    url: str
    headers: dict[str, str]
    expires_at: datetime


class UploadStarted(ApiModel):
    version_id: uuid.UUID
    version: int
    upload: Upload


class VersionPage(ApiModel):
    items: list[Version]
    next_cursor: str | None


class Download(ApiModel):
    url: str
    expires_at: datetime
    version_id: uuid.UUID
    version: int
    file_name: str
    mime_type: str
    size_bytes: int


class Option(ApiModel):
    id: str
    text: str


class Question(ApiModel):
    """A question as a student sees it: never with its correct option."""

    id: uuid.UUID
    question_text: str
    options: list[Option]


class AnsweredQuestion(Question):
    correct_option_id: str


class LearnerQuiz(ApiModel):
    """The published quiz, as a student sees it."""

    content_item_id: uuid.UUID
    version_id: uuid.UUID
    version: int
    pass_mark_pct: int
    questions: list[Question]


class ManagedQuiz(ApiModel):
    """A quiz version whole, as its instructors see it."""

    content_item_id: uuid.UUID
    version_id: uuid.UUID
    version: int
    status: VersionStatus
    current: bool
    published_at: datetime | None
    pass_mark_pct: int
    questions: list[AnsweredQuestion]


class AnswerResult(ApiModel):
    question_id: uuid.UUID
    chosen_option_id: str | None
    correct: bool


class Attempt(ApiModel):
    id: uuid.UUID
    content_item_id: uuid.UUID
    version_id: uuid.UUID
    user_id: uuid.UUID
    score_pct: float
    pass_mark_pct: int
    passed: bool
    correct_count: int
    question_count: int
    # Which of the student's answers were right (never which option was).
    results: list[AnswerResult]
    created_at: datetime


class AttemptPage(ApiModel):
    items: list[Attempt]
    next_cursor: str | None
