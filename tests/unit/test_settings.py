"""Settings: one model read from ``LMS_*`` variables once, with the AWS SDK's own as fallback."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lms_platform.settings import Settings, get_settings, reset_settings


def test_defaults_apply_when_nothing_is_set(env: pytest.MonkeyPatch) -> None:
    # Given an environment with no LMS_* or AWS variables
    # When the settings are read
    settings = get_settings()
    # Then every field has its documented default
    assert settings.event_bus_name == "lms"
    assert settings.max_body_bytes == 64 * 1024
    assert settings.aws_endpoint_url is None
    assert settings.aws_region == "us-east-1"
    assert settings.jwt_audience == "lms-api"
    assert settings.token_ttl_seconds == 300
    assert settings.refresh_token_ttl_seconds == 30 * 24 * 3600
    assert settings.database_url is None


def test_lms_variables_are_parsed_into_typed_fields(env: pytest.MonkeyPatch) -> None:
    # Given LMS_* variables, all strings as the environment holds them
    env.setenv("LMS_MAX_BODY_BYTES", "1024")
    env.setenv("LMS_DB_CONNECT_TIMEOUT", "2.5")
    env.setenv("LMS_EVENT_BUS_NAME", "other-bus")
    env.setenv("LMS_DATABASE_URL", "postgresql://postgres@db:5432/lms")
    # When the settings are read
    settings = get_settings()
    # Then each value has its field's type
    assert settings.max_body_bytes == 1024
    assert settings.db_connect_timeout == 2.5
    assert settings.event_bus_name == "other-bus"
    assert settings.database_url == "postgresql://postgres@db:5432/lms"


def test_an_empty_variable_counts_as_unset(env: pytest.MonkeyPatch) -> None:
    # Given a variable that is present but empty
    env.setenv("LMS_EVENT_BUS_NAME", "")
    env.setenv("LMS_MAX_BODY_BYTES", "")
    # When the settings are read
    settings = get_settings()
    # Then the defaults stand
    assert settings.event_bus_name == "lms"
    assert settings.max_body_bytes == 64 * 1024


def test_unknown_lms_variables_are_ignored(env: pytest.MonkeyPatch) -> None:
    # Given a variable for a field that does not exist (another tool's, a typo)
    env.setenv("LMS_NOT_A_SETTING", "whatever")
    # When the settings are read, Then nothing fails and no such attribute appears
    settings = get_settings()
    assert not hasattr(settings, "not_a_setting")


def test_a_value_of_the_wrong_type_is_refused(env: pytest.MonkeyPatch) -> None:
    # Given a number field set to words
    env.setenv("LMS_MAX_BODY_BYTES", "lots")
    # When / Then reading the settings fails loudly instead of guessing
    with pytest.raises(ValidationError):
        get_settings()


def test_aws_endpoint_url_is_the_fallback_for_the_endpoint(env: pytest.MonkeyPatch) -> None:
    # Given only the AWS SDK's own variable (as LocalStack users set it)
    env.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    # When the settings are read
    # Then the platform talks to that endpoint too
    assert get_settings().aws_endpoint_url == "http://localhost:4566"


def test_lms_aws_endpoint_url_wins_over_aws_endpoint_url(env: pytest.MonkeyPatch) -> None:
    # Given both variables
    env.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    env.setenv("LMS_AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    # When the settings are read, Then the platform's own variable decides
    assert get_settings().aws_endpoint_url == "http://127.0.0.1:5000"


def test_region_comes_from_aws_region_then_aws_default_region(env: pytest.MonkeyPatch) -> None:
    # Given only AWS_DEFAULT_REGION
    env.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert get_settings().aws_region == "eu-west-1"
    # When AWS_REGION is set too (Lambda sets it), Then it is preferred
    env.setenv("AWS_REGION", "eu-central-1")
    reset_settings()
    assert get_settings().aws_region == "eu-central-1"
    # And LMS_AWS_REGION overrides both
    env.setenv("LMS_AWS_REGION", "ap-south-1")
    reset_settings()
    assert get_settings().aws_region == "ap-south-1"


def test_settings_are_read_once_until_reset(env: pytest.MonkeyPatch) -> None:
    # Given settings already read
    env.setenv("LMS_EVENT_BUS_NAME", "first")
    first = get_settings()
    # When the environment changes afterwards
    env.setenv("LMS_EVENT_BUS_NAME", "second")
    # Then the cached model is still served (read once per execution environment)
    assert get_settings() is first
    assert get_settings().event_bus_name == "first"
    # And a reset makes the next read see the change
    reset_settings()
    assert get_settings().event_bus_name == "second"


def test_settings_cannot_be_changed_after_reading() -> None:
    # Given a settings model
    settings = Settings()
    # When / Then assigning a field fails (configuration is read, never mutated)
    with pytest.raises(ValidationError):
        settings.event_bus_name = "changed"  # type: ignore[misc]
