"""Secrets Manager reads, cached for the life of the execution environment.

On Lambda the AWS Parameters and Secrets extension answers on localhost in about a
millisecond and needs no SDK import; elsewhere (locally, in tests) boto3 is used.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from functools import lru_cache
from typing import Any

from lms_platform.aws import client

_DEFAULT_EXTENSION_PORT = "2773"


@lru_cache(maxsize=16)
def secret_string(secret_id: str) -> str:
    token = os.environ.get("AWS_SESSION_TOKEN")
    if token and os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and _extension_present():
        # Read with the other variables, at the call: a port read at import would send the
        # request elsewhere than the port _extension_present() just found set.
        port = os.environ.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT") or _DEFAULT_EXTENSION_PORT
        url = f"http://localhost:{port}/secretsmanager/get?secretId=" + urllib.parse.quote(
            secret_id, safe=""
        )
        request = urllib.request.Request(url, headers={"X-Aws-Parameters-Secrets-Token": token})
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (localhost)
            return str(json.load(response)["SecretString"])
    return str(client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])


def secret_json(secret_id: str) -> dict[str, Any]:
    value = json.loads(secret_string(secret_id))
    if not isinstance(value, dict):
        raise ValueError(f"secret {secret_id} does not hold a JSON object")
    return value


def _extension_present() -> bool:
    return os.path.exists("/opt/extensions/bootstrap") or bool(
        os.environ.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT")
    )
