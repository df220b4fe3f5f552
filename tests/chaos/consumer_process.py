"""A consumer's execution environment that dies at the worst moment: it takes one batch
from the service's queue, hands it to the consumer's Lambda handler (each record's effect
commits), then is killed with SIGKILL before the batch is acknowledged (deleted)."""

from __future__ import annotations

import json
import os
import signal
import sys
from importlib import import_module

from functions.registry import service
from lms_local.feeder import sqs_event
from lms_local.lambdas import LambdaContext
from lms_platform import topology
from lms_platform.aws import client


def main(name: str, visibility: int) -> None:
    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=topology.queue_name(name))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility, WaitTimeSeconds=1
    ).get("Messages", [])
    consumer = import_module(str(service(name).consumer_path).rsplit(".", 1)[0])
    result = consumer.handler(
        sqs_event(messages, arn, "us-east-1"), LambdaContext(f"lms-{name}-consumer")
    )
    print(json.dumps({"received": len(messages), "result": result}), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
