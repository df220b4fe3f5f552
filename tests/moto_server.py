"""The tests' moto server: ``python -m tests.moto_server -H 127.0.0.1 -p PORT``.

moto's own server, less a cost that grows with a queue: SendMessage (and every event a rule
delivers to a queue) and ReceiveMessage read all of the queue's attributes -- counting its
messages three times over -- to learn a setting (``ContentBasedDeduplication``, and, for
each message received, ``MessageRetentionPeriod``). Sending to a queue of n messages cost
O(n) and receiving from it O(n²); the chaos run's queues hold thousands. While a message
is sent or received, a queue's attributes here leave out the three approximate counts
(which neither reads); everywhere else they are moto's.
"""

from __future__ import annotations

import threading
from typing import Any

from moto import server
from moto.sqs.models import Queue, SQSBackend

_light = threading.local()
_all_attributes: Any = vars(Queue)["attributes"].fget
_COUNTS = {
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
}


class _Uncounted:
    """Stands for a queue while its attributes are read: the counts read as 0."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def __getattr__(self, name: str) -> Any:
        if name.startswith("approximate_number_of_messages"):
            return 0
        return getattr(self._queue, name)


def _attributes(queue: Any) -> dict[str, Any]:
    if getattr(_light, "active", False):
        found = _all_attributes(_Uncounted(queue))
        return {k: v for k, v in found.items() if k not in _COUNTS}
    everything: dict[str, Any] = _all_attributes(queue)
    return everything


def _lightly(method: Any) -> Any:
    def call(self: SQSBackend, *args: Any, **kwargs: Any) -> Any:
        _light.active = True
        try:
            return method(self, *args, **kwargs)
        finally:
            _light.active = False

    return call


Queue.attributes = property(_attributes)  # type: ignore[assignment,method-assign]
SQSBackend.send_message = _lightly(SQSBackend.send_message)  # type: ignore[method-assign]
SQSBackend.receive_message = _lightly(SQSBackend.receive_message)  # type: ignore[method-assign]

if __name__ == "__main__":
    server.main()
