"""The tests' moto server: ``python -m tests.moto_server -H 127.0.0.1 -p PORT``.

moto's own server, less one cost that grows with a queue: SendMessage (and every event a
rule delivers to a queue) read all of the queue's attributes -- counting its messages three
times over -- to learn one setting, ``ContentBasedDeduplication``. Sending to a queue of n
messages cost O(n), and the chaos run's queues hold thousands. While a message is sent,
a queue's attributes here are that setting alone; everywhere else, moto's.
"""

from __future__ import annotations

import threading
from typing import Any

from moto import server
from moto.sqs.models import Queue, SQSBackend

_sending = threading.local()
_all_attributes: Any = vars(Queue)["attributes"].fget
_send_message = SQSBackend.send_message


def _attributes(queue: Any) -> dict[str, Any]:
    if not getattr(_sending, "active", False):
        found: dict[str, Any] = _all_attributes(queue)
        return found
    if not queue.fifo_queue:
        return {}
    setting = getattr(queue, "content_based_deduplication", False)
    return {"ContentBasedDeduplication": str(setting).lower()}


def _send(self: SQSBackend, *args: Any, **kwargs: Any) -> Any:
    _sending.active = True
    try:
        return _send_message(self, *args, **kwargs)
    finally:
        _sending.active = False


Queue.attributes = property(_attributes)  # type: ignore[assignment,method-assign]
SQSBackend.send_message = _send  # type: ignore[method-assign]

if __name__ == "__main__":
    server.main()
