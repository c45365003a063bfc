# Two commands on a fresh machine: `make run` (the product with a demo tenant) and `make test` (the suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
WITH_ENV := scripts/with-env.sh
DEMO_SLUG ?= acme
DEMO_DOMAIN ?= acme.localhost
DEMO_EMAIL ?= admin@acme.example
DEMO_PASSWORD ?= acme-demo-2026
# `make run` also starts a local Jira stand-in connected to the demo tenant (docs/jira.md); JIRA_STANDIN=0 leaves it out.
# With the stand-in, scripts/run.sh sets JIRA_ALLOW_PRIVATE_HOSTS=1 so the Jira client may reach 127.0.0.1.
JIRA_STANDIN ?= 1
export DEMO_SLUG JIRA_STANDIN

.PHONY: run test test-fast lint typecheck setup services migrate demo stop-services bench-tenants chromium

$(VENV)/.installed: requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

setup: $(VENV)/.installed

services: setup
	$(PY) scripts/devservices.py ensure

migrate: services
	$(WITH_ENV) $(PY) manage.py migrate_tenants

demo: migrate
	$(WITH_ENV) $(PY) manage.py ensure_demo_tenant --slug $(DEMO_SLUG) --domain $(DEMO_DOMAIN) \
		--admin-email $(DEMO_EMAIL) --admin-password $(DEMO_PASSWORD)
	$(WITH_ENV) $(PY) manage.py seed_demo --tenant $(DEMO_SLUG) --employees 200 --days 60 --if-empty
	$(WITH_ENV) $(PY) manage.py collectstatic --noinput --verbosity 0

run: demo
	@echo "Open http://$(DEMO_DOMAIN):8000/  (log in as $(DEMO_EMAIL) / $(DEMO_PASSWORD)); Ctrl-C stops everything."
	$(WITH_ENV) scripts/run.sh

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: setup
	$(VENV)/bin/mypy .

# The UI tests drive Debian's Chromium through Playwright (which never downloads a browser of its own).
chromium:
	test -x /usr/bin/chromium || command -v chromium >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

test: services chromium lint typecheck
	$(WITH_ENV) $(VENV)/bin/pytest --create-db

test-fast: services
	$(WITH_ENV) $(VENV)/bin/pytest -m "not slow"

stop-services:
	$(PY) scripts/devservices.py stop

bench-tenants: migrate
	$(WITH_ENV) $(PY) loadtests/bench_tenants.py --tenants $${TENANTS:-100}
