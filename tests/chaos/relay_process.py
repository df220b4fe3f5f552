"""A relay in a process of its own, as the scheduled relay function runs: sweeps every
publishing service's outbox again and again until it is killed (the test kills it with
SIGKILL at random moments) or, with ``--until-empty``, until nothing is left. A sweep that
fails is tried again, as the next scheduled run would."""

from __future__ import annotations

import sys
import time
import traceback

from functions.registry import SERVICES
from lms_local.relay import sweep


def main() -> int:
    until_empty = "--until-empty" in sys.argv
    print("ready", flush=True)
    failures = 0
    while True:
        try:
            sent = sum(sweep(SERVICES, grace_seconds=0).values())
        except Exception:
            failures += 1
            traceback.print_exc()
            if failures > 60:
                return 1
            time.sleep(0.5)
            continue
        print(sent, flush=True)
        if until_empty and not sent:
            return 0
        if not sent:
            time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
