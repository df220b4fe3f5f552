# Everything a newcomer needs: `make run` and `make test` set themselves up.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: install run test test-fast lint format synth bench schemas clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[local,payment,infra,dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)  ## the virtualenv with the project and all its extras

run: $(STAMP)  ## the whole product on http://127.0.0.1:3000 (Ctrl-C stops it)
	$(VENV)/bin/lms run

test: $(STAMP)  ## every test: unit, integration, handlers, end to end, templates
	$(PY) -m pytest

test-fast: $(STAMP)  ## the tests without the local runtime and the CDK synth
	$(PY) -m pytest -m "not e2e and not infra"

lint: $(STAMP)  ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

synth: $(STAMP)  ## the CloudFormation templates into cdk.out/, offline
	$(PY) -m infra.app

bench: $(STAMP)  ## cold start, round trips and CPU against their floors
	$(PY) -m bench

schemas: $(STAMP)  ## regenerate the event JSON Schemas from the models
	$(PY) -m lms_events.catalog

clean:
	rm -rf $(VENV) cdk.out build .pytest_cache .mypy_cache .ruff_cache
