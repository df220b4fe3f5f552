"""The Stripe adapter's import of ``stripe`` leaves out what the adapter never uses (cold
start): the HTTP libraries it probes for, and ``asyncio`` until something reads it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LEFT_OUT = ("asyncio", "requests", "httpx", "aiohttp", "pycurl")


def _fresh(script: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def test_importing_stripe_loads_neither_asyncio_nor_an_http_library() -> None:
    # Given a fresh interpreter, as a Lambda cold start has
    # When the adapter imports stripe
    found = _fresh(
        "import json, sys\n"
        "from functions.payment.stripe_gateway import _stripe\n"
        "_stripe()\n"
        f"print(json.dumps({{'loaded': [m for m in {LEFT_OUT!r} if m in sys.modules]}}))"
    )
    # Then none of them came with it, and none is left hidden or stood in for
    assert found == {"loaded": []}


def test_stripe_still_reaches_the_real_asyncio_when_it_uses_it() -> None:
    # Given stripe imported by the adapter, asyncio deferred
    # When stripe's HTTP client module reads asyncio, and the process imports it too
    found = _fresh(
        "import json, sys\n"
        "from functions.payment.stripe_gateway import _stripe\n"
        "stripe = _stripe()\n"
        "sleep = stripe._http_client.asyncio.sleep\n"
        "import asyncio\n"
        "print(json.dumps({'same': sleep is asyncio.sleep,"
        " 'real': type(sys.modules['asyncio']).__name__}))"
    )
    # Then it got the one real asyncio, the one everyone else has
    assert found == {"same": True, "real": "module"}
