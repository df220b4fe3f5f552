"""boto3 clients, built on first use only: importing boto3 costs ~180 ms of cold start."""

from __future__ import annotations

from functools import cache
from typing import Any

from lms_platform.settings import get_settings


@cache
def client(service: str) -> Any:
    import boto3  # deferred: only the functions that talk to AWS pay for it
    from botocore.config import Config

    settings = get_settings()
    return boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        region_name=settings.aws_region,
        endpoint_url=settings.aws_endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2),
    )


def reset_clients() -> None:
    client.cache_clear()
