"""What a service declares is what its code does: the rule brings its consumer exactly
the events the consumer subscribes to, and every route has its handler module."""

from __future__ import annotations

import importlib

import pytest

from functions.registry import SERVICES
from lms_platform import topology
from lms_platform.service import Service


@pytest.mark.parametrize("service", [s for s in SERVICES if s.consumes], ids=lambda s: s.name)
def test_the_rule_brings_the_consumer_exactly_what_it_subscribes_to(service: Service) -> None:
    assert service.consumer_path is not None
    module = importlib.import_module(service.consumer_path.rsplit(".", 1)[0])
    subscribed = {(s.event.source, s.event.event_type) for s in module.consumer.subscriptions}
    declared = {(e.source, e.event_type) for e in service.consumes}
    assert subscribed == declared


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_every_declared_route_has_its_handler_bound_to_that_route(service: Service) -> None:
    for route in service.routes:
        module = importlib.import_module(service.handler_path(route).rsplit(".", 1)[0])
        assert module.api.route == route
        assert module.api.function is not None, route.key
        assert module.handler == module.api.handler


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_a_service_publishes_only_its_own_source(service: Service) -> None:
    assert {e.source for e in service.publishes} <= {f"lms.{service.name}"}


@pytest.mark.parametrize("service", [s for s in SERVICES if s.has_consumer], ids=lambda s: s.name)
def test_the_consumer_runs_exactly_the_tasks_its_service_declares(service: Service) -> None:
    assert service.consumer_path is not None
    module = importlib.import_module(service.consumer_path.rsplit(".", 1)[0])
    assert sorted(module.consumer.task_names) == sorted(service.tasks)


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_every_declared_job_has_its_handler(service: Service) -> None:
    for job in topology.jobs(service):
        module_name, _, attribute = service.job_path(job).rpartition(".")
        assert callable(getattr(importlib.import_module(module_name), attribute, None)), job.name
