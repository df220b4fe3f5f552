# Everything a newcomer needs: `make run` and `make test` set themselves up.
# The interpreter: PYTHON if given (PYTHON=python3.13 make run), else python3 when it is
# 3.11 or newer, else the newest python3.1x on the PATH that is.
SUPPORTED_PYTHONS := 3.14 3.13 3.12 3.11
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for p in python3 $(addprefix python,$(SUPPORTED_PYTHONS)); do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; \
	done)
NO_PYTHON = found no Python 3.11 or newer: python3 $(call VERSION_OF,python3), and none of \
	$(addprefix python,$(SUPPORTED_PYTHONS)) runs
else
NO_PYTHON = PYTHON=$(PYTHON) $(call VERSION_OF,$(PYTHON))
endif
VERSION_OF = $(or $(addprefix is Python ,$(shell $(1) -c 'import sys; \
	print(sys.version.split()[0])' 2>/dev/null)),does not run)
# Which interpreter, exactly (version and path): the virtualenv is made anew when it changes.
PYTHON_ID := $(shell $(PYTHON) -c 'import os, sys; sys.version_info >= (3, 11) and \
	print(sys.version.split()[0], os.path.realpath(sys.executable))' 2>/dev/null)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)-$(shell echo '$(PYTHON_ID)' | cksum | cut -d' ' -f1)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: install run test test-fast chaos test-localstack load lint format synth bench bench-recompute bench-analytics schemas clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON_ID)" || { echo "make: $(strip $(NO_PYTHON))." >&2; \
		echo "The project runs on CPython 3.11 to 3.14: install one, or name it:" \
			"PYTHON=python3.13 make run" >&2; exit 1; }
	@if [ -d $(VENV) ] && [ "$$(cat $(VENV)/.python 2>/dev/null)" != "$(PYTHON_ID)" ]; then \
		echo "make: $(VENV) was not made by $(PYTHON_ID): making it anew"; rm -rf $(VENV); fi
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[local,infra,dev,migrations,services]'
	rm -f $(VENV)/.installed-* && echo '$(PYTHON_ID)' > $(VENV)/.python && touch $@

install: $(STAMP)  ## the virtualenv with the project and all its extras

run: $(STAMP)  ## the whole product on http://127.0.0.1:3000 (Ctrl-C stops it)
	$(VENV)/bin/lms run

test: $(STAMP)  ## every test: unit, integration, handlers, end to end, templates
	$(PY) -m pytest

test-fast: $(STAMP)  ## the tests without the local runtime and the CDK synth
	$(PY) -m pytest -m "not e2e and not infra"

chaos: $(STAMP)  ## faults injected at full size (10,000 events ...), expected vs seen per fault
	LMS_CHAOS_SIZE=full $(PY) -m pytest -m chaos -p no:cacheprovider -q tests/chaos

test-localstack: $(STAMP)  ## the end-to-end suite against LocalStack core (its own Python 3.12+ virtualenv)
	$(PY) -m tests.e2e.localstack

load: $(STAMP)  ## mixed traffic (locust) against lms run, stepping users up to the knee
	@$(PY) -c 'import locust' 2>/dev/null || $(PY) -m pip install --quiet --disable-pip-version-check -e '.[load]'
	$(PY) -m bench.load

lint: $(STAMP)  ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

synth: $(STAMP)  ## a stage's templates into cdk.out/<stage>/, offline (CONTEXT='-c lms:stage=prod ...')
	$(PY) -m infra.app $(CONTEXT)

bench: $(STAMP)  ## cold start, round trips and CPU against their floors
	$(PY) -m bench

bench-recompute: $(STAMP)  ## a course of 1,000,000 enrollments gains a lesson (takes minutes)
	$(PY) -m bench.recompute

bench-analytics: $(STAMP)  ## events counted per second, and a rebuild of 1,000,000 snapshots (minutes)
	$(PY) -m bench.analytics

schemas: $(STAMP)  ## regenerate the event JSON Schemas from the models
	$(PY) -m lms_events.catalog

clean:
	rm -rf $(VENV) cdk.out build .pytest_cache .mypy_cache .ruff_cache
