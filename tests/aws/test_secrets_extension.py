"""Secrets on Lambda come from the Parameters and Secrets extension on localhost, with
the session token as proof, and without importing the SDK; elsewhere from boto3.

A small HTTP server stands in for the extension; moto holds a different value under the
same id, so every read shows which way it went.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lms_platform import secrets as lms_secrets
from tests.aws.conftest import LambdaEnv

REPO = Path(__file__).resolve().parents[2]
SESSION_TOKEN = "session-token-of-this-execution-environment"


@dataclass
class FakeExtension:
    """``GET /secretsmanager/get?secretId=...`` answered from ``values``; requests kept."""

    values: dict[str, str]
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0


@pytest.fixture
def extension() -> Iterator[FakeExtension]:
    fake = FakeExtension(values={})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            secret_id = urllib.parse.parse_qs(url.query).get("secretId", [""])[0]
            fake.requests.append(
                {
                    "path": url.path,
                    "secret_id": secret_id,
                    "token": self.headers.get("X-Aws-Parameters-Secrets-Token"),
                }
            )
            if url.path != "/secretsmanager/get" or secret_id not in fake.values:
                self.send_error(400)
                return
            body = json.dumps(
                {"ARN": secret_id, "Name": secret_id, "SecretString": fake.values[secret_id]}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def create_secret(secretsmanager: Any) -> Iterator[Callable[[str], str]]:
    """``create_secret(value)``: a new secret in moto, its ARN; deleted afterwards."""
    made: list[str] = []

    def create(value: str) -> str:
        name = f"lms-test/{uuid.uuid4().hex}"
        made.append(secretsmanager.create_secret(Name=name, SecretString=value)["ARN"])
        return made[-1]

    yield create
    for arn in made:
        secretsmanager.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


@pytest.fixture
def two_values(create_secret: Callable[[str], str], extension: FakeExtension) -> str:
    """A secret whose value in moto differs from the extension's: the id."""
    arn = create_secret("from-secrets-manager")
    extension.values[arn] = "from-the-extension"
    return arn


def _on_lambda(extension: FakeExtension) -> dict[str, str]:
    return {
        "AWS_LAMBDA_FUNCTION_NAME": "lms-user-GetMe",
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.port),
    }


def test_on_lambda_a_secret_is_read_once_from_the_extension_with_the_session_token(
    lambda_env: LambdaEnv, extension: FakeExtension, two_values: str
) -> None:
    # Given a Lambda environment with the extension listening
    lambda_env.set(**_on_lambda(extension))
    # When the secret is read twice in the execution environment
    first = lms_secrets.secret_string(two_values)
    second = lms_secrets.secret_string(two_values)
    # Then the extension answered it, once, asked with the session token
    assert first == second == "from-the-extension"
    assert extension.requests == [
        {"path": "/secretsmanager/get", "secret_id": two_values, "token": SESSION_TOKEN}
    ]


def test_on_lambda_the_extension_read_does_not_import_boto3(
    lambda_env: LambdaEnv, extension: FakeExtension, two_values: str
) -> None:
    # Given a fresh interpreter with the Lambda environment (as a cold start has it)
    lambda_env.set(**_on_lambda(extension))
    script = (
        "import json, sys\n"
        "from lms_platform.secrets import secret_string\n"
        "value = secret_string(sys.argv[1])\n"
        "print(json.dumps({'value': value, 'boto3': 'boto3' in sys.modules,"
        " 'botocore': 'botocore' in sys.modules}))\n"
    )
    # When it reads the secret
    done = subprocess.run(
        [sys.executable, "-c", script, two_values],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    # Then the value came from the extension, and neither boto3 nor botocore was loaded
    assert json.loads(done.stdout) == {
        "value": "from-the-extension",
        "boto3": False,
        "botocore": False,
    }
    assert [r["token"] for r in extension.requests] == [SESSION_TOKEN]


@pytest.mark.parametrize(
    "missing",
    ["AWS_LAMBDA_FUNCTION_NAME", "AWS_SESSION_TOKEN", "the extension"],
)
def test_off_lambda_a_secret_is_read_through_boto3(
    lambda_env: LambdaEnv, extension: FakeExtension, two_values: str, missing: str
) -> None:
    # Given an environment lacking one thing the extension path needs
    env = _on_lambda(extension)
    if missing == "the extension":
        del env["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"]  # and no /opt/extensions
    else:
        del env[missing]
    lambda_env.set(**env)
    # When the secret is read
    value = lms_secrets.secret_string(two_values)
    # Then Secrets Manager (moto, through boto3) answered, and the extension was not asked
    assert value == "from-secrets-manager"
    assert extension.requests == []


def test_secret_json_refuses_a_secret_that_is_not_an_object(
    lambda_env: LambdaEnv, extension: FakeExtension, create_secret: Callable[[str], str]
) -> None:
    # Given a secret holding a JSON list, through the extension
    arn = create_secret("[1, 2]")
    extension.values[arn] = "[1, 2]"
    lambda_env.set(**_on_lambda(extension))
    # When it is read as JSON, then it is refused by name
    with pytest.raises(ValueError, match="does not hold a JSON object"):
        lms_secrets.secret_json(arn)
