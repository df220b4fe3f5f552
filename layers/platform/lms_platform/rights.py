"""Who may act on a course as one of its teachers: one rule, for every service that keeps
course membership (the Course service in its own table, the others in read models fed by
Course events).

Membership alone is not enough, nor is the role alone: a member who no longer holds the
INSTRUCTOR role has lost the rights even while the membership row stays, and an
instructor of one course has none over another. Administrators have them everywhere.
Roles come from the verified token's claims, so a role taken away stops counting when
the caller's access token expires (minutes).
"""

from __future__ import annotations

from lms_platform.http import Principal

TEACHER_ROLE = "INSTRUCTOR"


def teaches(caller: Principal | None, *, member: bool) -> bool:
    """True when ``caller`` has a teacher's rights on a course they are (``member``) or are
    not one of the instructors of."""
    if caller is None:
        return False
    return caller.is_admin or (member and caller.has_role(TEACHER_ROLE))
