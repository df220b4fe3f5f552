"""Configuration: one model, read from the environment once, on first use."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """Everything a function reads from its environment (variables named ``LMS_<FIELD>``)."""

    model_config = ConfigDict(frozen=True)

    # The service a shared function (the relay) works for: user, course, ...
    service: str | None = None
    # The deployment this function belongs to (``-c lms:stage=``); "local" under lms run.
    stage: str = "local"

    # Database. Locally a URL (the service's role replaces the user in it); on AWS the
    # service's own secret (host, port, dbname, username, password) read through the
    # Parameters and Secrets extension, and TLS verified against the RDS CA bundle.
    database_url: str | None = None
    db_secret_arn: str | None = None
    db_host: str | None = None
    db_ca_file: str | None = None
    db_connect_timeout: float = 3.0
    # How long a statement's answer may take on the socket. Longer than the role's
    # statement_timeout (see migrations.ROLE_LIMITS), so that in the normal case the server
    # ends a slow statement and the connection stays usable; past it the connection is
    # closed at once, which also makes the server roll its transaction back.
    db_socket_timeout: float = 6.0
    # "named": each statement is prepared once per connection and then runs in one round
    # trip (Bind, Execute, Sync). "unnamed": every run sends Parse, Bind, Describe, Execute
    # and Sync in one flush, so no statement outlives its transaction on the server (what a
    # connection pooler that multiplexes transactions needs). Both are one round trip.
    db_statement_mode: Literal["named", "unnamed"] = "named"

    # Events.
    event_bus_name: str = "lms"
    relay_grace_seconds: int = 60
    # The service's own events queue, where its consumer sends itself tasks (see
    # ``lms_platform.tasks``); when unset it is looked up by its name (locally).
    own_queue_url: str | None = None
    # Published outbox rows and inbox rows are deleted this many days after they were
    # written (``lms_platform.retention``). It must outlast the longest window in which an
    # event can be delivered again (``topology.redelivery_window_days``: the archive's 90
    # days), or a replayed event would find no inbox row and be applied twice.
    event_retention_days: int = 97

    # AWS endpoints. None means the real AWS; locally the moto server or LocalStack.
    aws_endpoint_url: str | None = Field(default=None)
    aws_region: str = "us-east-1"

    # Tokens. Locally the signing key is a PEM file in the state folder; on AWS a secret.
    jwt_issuer: str = "http://127.0.0.1:3000"
    jwt_audience: str = "lms-api"
    # An access token cannot be recalled: its lifetime is how long a suspension or a
    # revoked role may take to bite. Refresh tokens can be, and carry sessions further.
    token_ttl_seconds: int = 300
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    signing_key_file: str | None = None
    signing_key_secret_arn: str | None = None

    # Cursors are signed so that a tampered one is refused rather than obeyed.
    cursor_key: str | None = None

    # HTTP.
    max_body_bytes: int = 64 * 1024

    # The Payment service's gateway (Stripe). On AWS its keys are the service's own secret
    # ``stripe`` (``LMS_SECRET_STRIPE_ARN``: a JSON object with ``secretKey`` and
    # ``webhookSecret``); locally these settings, with ``stripe_api_base`` pointing the
    # library at the gateway simulator of ``lms run``. None: Stripe itself.
    secret_stripe_arn: str | None = None
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None

    # The content bucket (the deployment names it per stage; locally the runtime's bucket).
    content_bucket: str = "lms-content"
    # Uploads up to this size are hashed by the service itself before they are accepted;
    # larger ones are taken on S3's own SHA-256 check of the upload (a route cannot read
    # gigabytes within its timeout). The local runtime raises it: emulators do not check.
    content_hash_limit_bytes: int = 128 * 1024 * 1024

    # The Analytics service's event snapshots: months kept (older monthly partitions are
    # dropped, their aggregates kept; 24 covers the longest series a route serves, 104
    # weeks, so a rebuild can always remake it) and months made ahead of time.
    analytics_retention_months: int = Field(default=24, ge=1)
    analytics_partitions_ahead_months: int = Field(default=3, ge=1)

    # What operators see (lms_platform.observability).
    log_format: Literal["json", "text"] = "json"
    metrics_format: Literal["emf", "log"] = "emf"
    tracing: bool = False


def _from_environment() -> dict[str, str]:
    values = {
        name.removeprefix("LMS_").lower(): value
        for name, value in os.environ.items()
        if name.startswith("LMS_") and value != ""
    }
    # The AWS SDK's own variables are honoured too, so LocalStack works unchanged.
    if "aws_endpoint_url" not in values and os.environ.get("AWS_ENDPOINT_URL"):
        values["aws_endpoint_url"] = os.environ["AWS_ENDPOINT_URL"]
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if "aws_region" not in values and region:
        values["aws_region"] = region
    return values


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    known = Settings.model_fields
    return Settings(**{k: v for k, v in _from_environment().items() if k in known})


def reset_settings() -> None:
    """Forget the cached settings (tests and the local runtime change the environment)."""
    get_settings.cache_clear()
