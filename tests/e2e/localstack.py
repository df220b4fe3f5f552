"""``make test-localstack``: the end-to-end suite with LocalStack as the AWS side.

LocalStack core runs on the host without Docker, in a virtualenv of its own (it needs
Python 3.12 or newer; its pins differ from the project's): made once in
``.venv-localstack`` with the first ``python3.13``/``python3.12`` found on the PATH or in
``~/.pyenv/versions``. It is started on a free port, the end-to-end tests run with
``LMS_E2E_AWS_ENDPOINT_URL`` pointing at it (each ``lms run`` they start then uses it
instead of the embedded moto), and it is stopped, whatever the outcome.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from lms_local.environment import free_port

VENV = Path(".venv-localstack")
PACKAGES = ["localstack-core[runtime]==2026.3.0", "cbor2<6", "pyopenssl<26", "service-identity"]


def find_python() -> str:
    candidates = [shutil.which(f"python3.{m}") for m in (13, 12)]
    home = Path.home()
    for minor in (13, 12):
        candidates += sorted(glob.glob(str(home / f".pyenv/versions/3.{minor}*/bin/python3")))
    for candidate in candidates:
        if (
            candidate
            and subprocess.run(
                [candidate, "-c", "import sys; sys.exit(sys.version_info < (3, 12))"],
                capture_output=True,
            ).returncode
            == 0
        ):
            return candidate
    sys.exit("make test-localstack: no Python 3.12 or 3.13 found (PATH, ~/.pyenv/versions)")


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if not marker.exists():
        interpreter = find_python()
        print(f"LocalStack virtualenv with {interpreter} in {VENV} (~40 s, ~500 MB)", flush=True)
        subprocess.run([interpreter, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PACKAGES], check=True)
        marker.touch()
    return python


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_localstack/health", timeout=1) as r:  # noqa: S310
            return r.status == 200
    except OSError:
        return False


def main() -> int:
    python = ensure_venv()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    folder = Path(tempfile.mkdtemp(prefix="lms-localstack-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "AWS_"))},
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "SERVICES": "s3,sqs,events,secretsmanager",
        "LOCALSTACK_VOLUME_DIR": str(folder / "volume"),
        "DNS_ADDRESS": "0",
    }
    log = (folder / "localstack.log").open("wb")
    process = subprocess.Popen(
        [str(python), "-m", "localstack.runtime.main"], env=env, stdout=log, stderr=log
    )
    try:
        started = time.monotonic()
        while not healthy(url):
            if process.poll() is not None or time.monotonic() - started > 90:
                print((folder / "localstack.log").read_text()[-3000:], file=sys.stderr)
                return 1
            time.sleep(0.2)
        print(f"LocalStack healthy at {url} in {time.monotonic() - started:.1f} s", flush=True)
        tests = {**os.environ, "LMS_E2E_AWS_ENDPOINT_URL": url}
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-m",
                "e2e",
                "-p",
                "no:cacheprovider",
                "tests/e2e",
                *sys.argv[1:],
            ],
            env=tests,
        ).returncode
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        print(f"LocalStack stopped (log: {folder / 'localstack.log'})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
