"""The state folder (``.lms/`` unless ``LMS_STATE_DIR`` says otherwise), kept between runs:

- ``pg/``: the embedded PostgreSQL's data;
- ``signing-key.pem``: the key that signs access tokens (made once);
- ``cursor-key``: the key that signs pagination cursors (made once);
- ``runtime.json``: where a running ``lms run`` listens (removed when it stops).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RuntimeRecord:
    """What a running ``lms run`` tells the other commands (they join it, not start another)."""

    pid: int
    gateway_url: str
    aws_endpoint_url: str
    database_url: str


class StateDir:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def from_environment(cls) -> StateDir:
        return cls(Path(os.environ.get("LMS_STATE_DIR") or ".lms").resolve())

    @property
    def pg_data(self) -> Path:
        return self.root / "pg"

    @property
    def signing_key_file(self) -> Path:
        return self.root / "signing-key.pem"

    @property
    def cursor_key_file(self) -> Path:
        return self.root / "cursor-key"

    @property
    def runtime_file(self) -> Path:
        return self.root / "runtime.json"

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def signing_key(self) -> Path:
        from lms_platform.auth import ensure_key_file

        return Path(ensure_key_file(self.signing_key_file))

    def cursor_key(self) -> str:
        """The cursor key, made on first use and kept private to this user."""
        path = self.cursor_key_file
        if not path.exists():
            self.ensure()
            # O_EXCL: two commands starting at once must not write two different keys.
            with contextlib.suppress(FileExistsError):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as file:
                    file.write(secrets.token_hex(32))
        return path.read_text().strip()

    # --- the running runtime ---------------------------------------------------------------

    def write_runtime(self, record: RuntimeRecord) -> None:
        temporary = self.runtime_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(record), indent=2))
        temporary.replace(self.runtime_file)

    def clear_runtime(self, pid: int) -> None:
        record = self.running()
        if record is not None and record.pid == pid:
            self.runtime_file.unlink(missing_ok=True)

    def running(self) -> RuntimeRecord | None:
        """The ``lms run`` using this folder, if one is alive."""
        try:
            data: dict[str, Any] = json.loads(self.runtime_file.read_text())
            record = RuntimeRecord(**data)
        except (OSError, ValueError, TypeError):
            return None
        return record if process_alive(record.pid) else None

    def delete(self) -> None:
        shutil.rmtree(self.root, ignore_errors=False)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
