"""The README's walk-through, run as written against ``lms run``: every ``sh`` block from
"Calling the API" up to "The whole API", in order, in one shell (the blocks share their
variables as a reader's terminal does), with only the address and the ``lms`` command
replaced by this runtime's.

The shell stops at the first command that fails (``set -e -o pipefail``): a reply that is
not the JSON a later step reads, a ``grep`` that finds nothing, two files that differ. The
results the README shows in its comments must then appear in what the blocks printed, and
no reply may be a server error.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.e2e.harness import Runtime, lms_command

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
FIRST, LAST = "## Calling the API", "### The whole API"

# What the README's comments say the walk-through prints (each at least once).
PRINTED = (
    "33.33 ACTIVE",
    "66.67 ACTIVE",
    "100.0 COMPLETED",
    "the same bytes",
    "50.0 True",
    "idempotent-replayed: true",
    "409",
)


def walkthrough() -> str:
    text = README.read_text()
    section = text[text.index(FIRST) : text.index(LAST)]
    blocks = re.findall(r"^```sh\n(.*?)^```$", section, flags=re.DOTALL | re.MULTILINE)
    assert len(blocks) >= 8, "the README's walk-through has lost its examples"
    return "\n".join(blocks)


def test_the_readme_walkthrough_runs_as_written(runtime: Runtime, tmp_path: Path) -> None:
    script = walkthrough()
    assert "http://127.0.0.1:3000" in script
    script = script.replace("http://127.0.0.1:3000", runtime.url)
    script = script.replace(".venv/bin/lms", shlex.join(lms_command()))
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=tmp_path,
        env=runtime.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    printed = done.stdout
    assert done.returncode == 0, f"{done.stderr[-3000:]}\n--- printed ---\n{printed[-3000:]}"
    for expected in PRINTED:
        seen = printed.lower() if expected.islower() else printed
        assert expected in seen, (expected, printed[-3000:])
    # A problem document of a server error, anywhere in what was printed.
    assert not re.search(r'"status":\s*5\d\d\b', printed), printed[-3000:]
