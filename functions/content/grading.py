"""Grading a quiz attempt: a pure function of the questions and the answers.

The score is the share of questions answered right, in percent with two decimals (rounded
half up, as PostgreSQL's ``numeric`` rounds); a question left out is wrong. An attempt
passes when its score reaches the pass mark. An answer to a question the quiz does not
have, or naming an option the question does not offer, is refused: the student answered
another version of the quiz (or made the answer up) and should load it again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


class WrongAnswers(ValueError):
    """Answers that do not fit the quiz: ``errors`` as the API's field errors."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("the answers do not fit the quiz")
        self.errors = errors


@dataclass(frozen=True)
class Graded:
    results: list[dict[str, Any]]  # [{questionId, chosenOptionId, correct}] in quiz order
    correct_count: int
    question_count: int
    score_pct: Decimal
    passed: bool


def grade(
    questions: list[dict[str, Any]], answers: dict[uuid.UUID, str], pass_mark_pct: int
) -> Graded:
    """``questions`` as stored (``id``, ``options`` [{id, text}], ``correct_option_id``)."""
    by_id = {uuid.UUID(str(q["id"])): q for q in questions}
    errors = []
    for question_id, option_id in answers.items():
        question = by_id.get(question_id)
        if question is None:
            errors.append(_error(question_id, "no such question in this quiz"))
        elif option_id not in {o["id"] for o in question["options"]}:
            errors.append(_error(question_id, "no such option in this question"))
    if errors:
        raise WrongAnswers(errors)
    results = []
    for question in questions:
        chosen = answers.get(uuid.UUID(str(question["id"])))
        results.append(
            {
                "questionId": str(question["id"]),
                "chosenOptionId": chosen,
                "correct": chosen is not None and chosen == question["correct_option_id"],
            }
        )
    right = sum(1 for r in results if r["correct"])
    score = (Decimal(100 * right) / Decimal(len(questions))).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    return Graded(results, right, len(questions), score, score >= pass_mark_pct)


def _error(question_id: uuid.UUID, message: str) -> dict[str, Any]:
    return {
        "location": ["body", "answers", str(question_id)],
        "message": message,
        "type": "value_error",
    }
