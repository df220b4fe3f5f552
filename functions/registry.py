"""Every service of the product. The CDK app, the local runtime, the OpenAPI document and
the tests iterate over this tuple; a service joins the product by being listed here."""

from __future__ import annotations

from functions.analytics.service import SERVICE as ANALYTICS
from functions.assignment.service import SERVICE as ASSIGNMENT
from functions.content.service import SERVICE as CONTENT
from functions.course.service import SERVICE as COURSE
from functions.enrollment.service import SERVICE as ENROLLMENT
from functions.payment.service import SERVICE as PAYMENT
from functions.user.service import SERVICE as USER
from lms_platform.service import Service

SERVICES: tuple[Service, ...] = (
    USER,
    COURSE,
    ENROLLMENT,
    CONTENT,
    ASSIGNMENT,
    PAYMENT,
    ANALYTICS,
)


def service(name: str) -> Service:
    for s in SERVICES:
        if s.name == name:
            return s
    raise KeyError(name)
