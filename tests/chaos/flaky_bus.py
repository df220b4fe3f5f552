"""A failing EventBridge endpoint in front of moto: PutEvents entries refused at random
(``InternalFailure``, as EventBridge answers entry by entry), whole calls that never answer
(held past the client's timeout, before or after moto has taken the entries), and outages
during which every call times out. Everything else is moto's own answer.

It keeps the books the proof needs: for each event id, how many times the client was told
of its success (``told``, called by the client as it reads an answer: an answer written
here may still come too late for the client, whose timeout shrinks with its budget), and
how many times it was sent again after that."""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FlakyBus:
    def __init__(
        self,
        upstream: str,
        *,
        entry_failure: float = 0.10,
        call_timeout: float = 0.05,
        hold_seconds: float = 1.0,
        seed: int = 3,
    ) -> None:
        self.upstream = urllib.parse.urlsplit(upstream)
        self.entry_failure = entry_failure
        self.call_timeout = call_timeout
        self.hold_seconds = hold_seconds
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.outage_until = 0.0
        self.succeeded: Counter[str] = Counter()
        self.sent_after_success: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        flaky = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("X-Amz-Target") == "AWSEvents.PutEvents":
                    flaky.put_events(self, body)
                else:
                    status, payload, kind = flaky.forward(self.path, dict(self.headers), body)
                    flaky.answer(self, status, payload, kind)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FlakyBus:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def outage(self, seconds: float) -> None:
        """Every call times out for ``seconds`` from now."""
        self.outage_until = time.monotonic() + seconds
        self.counts["outages"] += 1

    def told(self, entries: list[dict[str, Any]], response: dict[str, Any]) -> None:
        """The client read ``response`` to a PutEvents call of ``entries``: the successes
        it was told of."""
        with self.lock:
            for entry, result in zip(entries, response["Entries"], strict=True):
                if result.get("EventId") and not result.get("ErrorCode"):
                    self.succeeded[json.loads(entry["Detail"]).get("eventId", "")] += 1

    def forward(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, str]:
        connection = http.client.HTTPConnection(self.upstream.netloc, timeout=30)
        keep = {k: v for k, v in headers.items() if k.lower() not in {"host", "content-length"}}
        connection.request("POST", path, body=body, headers=keep)
        response = connection.getresponse()
        payload = response.read()
        kind = response.getheader("Content-Type") or "application/x-amz-json-1.1"
        connection.close()
        return response.status, payload, kind

    @staticmethod
    def answer(handler: BaseHTTPRequestHandler, status: int, payload: bytes, kind: str) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def hold(self, handler: BaseHTTPRequestHandler) -> None:
        """No answer until the client has given up; then the connection is closed."""
        time.sleep(self.hold_seconds)
        handler.close_connection = True

    def put_events(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        entries = json.loads(body)["Entries"]
        ids = [json.loads(e["Detail"]).get("eventId", "") for e in entries]
        with self.lock:
            self.counts["calls"] += 1
            for event_id in ids:
                if self.succeeded[event_id]:
                    self.sent_after_success[event_id] += 1
            in_outage = time.monotonic() < self.outage_until
            # The second and third calls time out before and after the bus took their
            # entries, so that even a short run injects both; the rest at random.
            roll = {2: 0.0, 3: 1.5 * self.call_timeout}.get(self.counts["calls"], self.rng.random())
            refused = [self.rng.random() < self.entry_failure for _ in entries]
        if in_outage or roll < self.call_timeout:
            self.counts["calls timed out before reaching the bus"] += 1
            return self.hold(handler)
        kept = [e for e, no in zip(entries, refused, strict=True) if not no]
        results: list[dict[str, Any]] = []
        if kept:
            status, payload, kind = self.forward(
                handler.path, dict(handler.headers), json.dumps({"Entries": kept}).encode()
            )
            if status != 200:
                return self.answer(handler, status, payload, kind)
            results = json.loads(payload)["Entries"]
        if roll < 2 * self.call_timeout:
            # moto took the entries; the answer is lost: the caller must send them again
            self.counts["calls timed out after reaching the bus"] += 1
            return self.hold(handler)
        merged, taken = [], iter(results)
        for no in refused:
            if no:
                merged.append({"ErrorCode": "InternalFailure", "ErrorMessage": "injected"})
                self.counts["entries refused"] += 1
            else:
                merged.append(next(taken))
        payload = json.dumps({"FailedEntryCount": sum(refused), "Entries": merged}).encode()
        return self.answer(handler, 200, payload, "application/x-amz-json-1.1")
