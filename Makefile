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
# `make run` also starts a local OpenID Connect provider and points the demo tenant's single sign-on at it
# (docs/operations.md, "Single sign-on"); OIDC_STANDIN=0 leaves it out.
OIDC_STANDIN ?= 1
export DEMO_SLUG JIRA_STANDIN OIDC_STANDIN

.PHONY: run test test-fast lint lock lock-check typecheck setup services migrate demo stop-services bench-tenants \
	chromium nginx axe

# requirements.lock (runtime + dev extra) and requirements-runtime.lock (the image) are compiled from pyproject.toml
# with hashes; pip refuses any file whose hash is not in the lock. pip and setuptools come with the venv.
$(VENV)/.installed: requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
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
	$(WITH_ENV) $(PY) manage.py train_model --tenant $(DEMO_SLUG) --if-untrained
	$(WITH_ENV) $(PY) manage.py collectstatic --noinput --verbosity 0

run: demo
	@echo "Open http://$(DEMO_DOMAIN):8000/  (log in as $(DEMO_EMAIL) / $(DEMO_PASSWORD)); Ctrl-C stops everything."
	$(WITH_ENV) scripts/run.sh

# Re-pin after editing pyproject.toml's dependency lists. pip-tools lives in its own venv, never in .venv; the
# runtime lock is seeded with the full lock's pins so that both name the same versions. Existing pins are kept;
# `make lock PIP_COMPILE_ARGS=--upgrade-package=NAME` moves one package.
PIP_TOOLS_VENV ?= /tmp/hrms-pip-tools
PIP_COMPILE = $(PIP_TOOLS_VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url \
	--no-emit-find-links $(PIP_COMPILE_ARGS)
lock:
	test -x $(PIP_TOOLS_VENV)/bin/pip-compile || \
		($(PYTHON) -m venv $(PIP_TOOLS_VENV) && $(PIP_TOOLS_VENV)/bin/pip install --quiet pip-tools==7.7.0)
	$(PIP_COMPILE) --extra=dev --output-file=requirements.lock pyproject.toml
	cp requirements.lock requirements-runtime.lock
	$(PIP_COMPILE) --output-file=requirements-runtime.lock pyproject.toml
	$(PIP_TOOLS_VENV)/bin/python scripts/lock_check.py --stamp

lock-check: setup
	$(PY) scripts/lock_check.py

lint: setup lock-check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: setup
	$(VENV)/bin/mypy .

# The UI tests drive Debian's Chromium through Playwright (which never downloads a browser of its own).
chromium:
	test -x /usr/bin/chromium || command -v chromium >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# The slow-client test (tests/ops/test_proxy.py) puts Debian's nginx in front of gunicorn, as production does
# (deploy/nginx). Installing the package starts no server where policy-rc.d forbids it, as in containers.
nginx:
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || \
		(apt-get update -qq && (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light || \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx))

# axe-core for the accessibility check of every page (tests/ui/test_accessibility.py), from the npm registry,
# pinned with its integrity hash in tests/ui/axe/package-lock.json.
AXE := tests/ui/axe/node_modules/axe-core/axe.min.js
$(AXE): tests/ui/axe/package-lock.json
	command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm)
	npm ci --prefix tests/ui/axe --no-audit --no-fund --silent
	touch $@

axe: $(AXE)

test: services chromium nginx axe lint typecheck
	$(WITH_ENV) $(VENV)/bin/pytest --create-db

test-fast: services
	$(WITH_ENV) $(VENV)/bin/pytest -m "not slow"

stop-services:
	$(PY) scripts/devservices.py stop

bench-tenants: migrate
	$(WITH_ENV) $(PY) loadtests/bench_tenants.py --tenants $${TENANTS:-100}
