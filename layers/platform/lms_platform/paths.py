"""Route paths as API Gateway reads them: which requests a path template matches, and which
of two templates wins when both match.

API Gateway (HTTP API) picks the most specific route for a request: literal segments over
``{param}``, ``{param}`` over a greedy ``{proxy+}``, compared from the left -- for the
request's method. So ``PATCH /courses/c1/modules/order`` goes to
``PATCH /courses/{courseId}/modules/{moduleId}`` although ``/courses/{courseId}/modules/order``
is a path of its own (with ``PUT`` only). The local gateway and a route's function both use
this module to tell such a request apart and answer it with 405.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

_PARAM = re.compile(r"^\{(\w+)(\+?)\}$")
LITERAL, PARAMETER, GREEDY = 0, 1, 2


@dataclass(frozen=True)
class PathTemplate:
    """``/users/{userId}/roles/{role}``, as segments."""

    path: str

    @cached_property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path.strip("/").split("/")) if self.path != "/" else ()

    @cached_property
    def kinds(self) -> tuple[int, ...]:
        """Per segment: LITERAL, PARAMETER or GREEDY. Compared as tuples, smaller is more
        specific -- the order API Gateway prefers routes in."""
        kinds = []
        for segment in self.segments:
            found = _PARAM.match(segment)
            kinds.append(LITERAL if found is None else (GREEDY if found[2] else PARAMETER))
        return tuple(kinds)

    @cached_property
    def parameters(self) -> tuple[str, ...]:
        return tuple(m[1] for s in self.segments if (m := _PARAM.match(s)))

    def match(self, segments: list[str]) -> dict[str, str] | None:
        """The (still percent-encoded) parameters when ``segments`` of a request path fit."""
        parameters: dict[str, str] = {}
        for index, template in enumerate(self.segments):
            kind = self.kinds[index]
            if kind == GREEDY:  # the rest of the path
                rest = segments[index:]
                if not rest or not any(rest):
                    return None
                parameters[template[1:-2]] = "/".join(rest)
                return parameters
            if index >= len(segments):
                return None
            if kind == LITERAL:
                if segments[index] != template:
                    return None
            else:
                if segments[index] == "":
                    return None
                parameters[template[1:-1]] = segments[index]
        return parameters if len(segments) == len(self.segments) else None

    def overlaps(self, other: PathTemplate) -> bool:
        """Whether some request path matches both (greedy templates are not compared)."""
        if GREEDY in self.kinds or GREEDY in other.kinds:
            return False
        if len(self.segments) != len(other.segments):
            return False
        # Only two different literal segments keep a path from matching both.
        return all(
            a == b or ka != LITERAL or kb != LITERAL
            for a, b, ka, kb in zip(
                self.segments, other.segments, self.kinds, other.kinds, strict=True
            )
        )

    def shadows(self, other: PathTemplate) -> bool:
        """Whether this template wins over ``other`` for every request path both match."""
        return self.path != other.path and self.overlaps(other) and self.kinds < other.kinds

    def regex(self) -> re.Pattern[str]:
        """A pattern of the request paths this template matches, one group per parameter."""
        parts = []
        for segment, kind in zip(self.segments, self.kinds, strict=True):
            if kind == LITERAL:
                parts.append(re.escape(segment))
            elif kind == PARAMETER:
                parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
            else:
                parts.append(f"(?P<{segment[1:-2]}>.+)")
        return re.compile("^/" + "/".join(parts) + "$")


def split_path(raw_path: str) -> list[str]:
    """The segments of a request path; a trailing slash is a segment of its own (empty), so
    ``/things/`` is not ``/things``."""
    return raw_path[1:].split("/") if raw_path not in ("", "/") else []
