"""Test settings: the real PostgreSQL and Redis, on a Redis database number and key prefix of their own."""

from __future__ import annotations

import os

from hrms.env import env_str
from hrms.settings import *  # noqa: F403
from hrms.settings import CACHES, DATABASES

REDIS_URL = env_str("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
for alias in CACHES.values():
    alias["LOCATION"] = REDIS_URL
    alias["KEY_PREFIX"] = f"hrms-test-{alias['KEY_PREFIX']}"
CELERY_BROKER_URL = env_str("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/14")
# Celery reads the CELERY_BROKER_URL environment variable before any configuration (celery.app.utils
# Settings.broker_url), and `make` exports the development broker there: point it at the tests' broker, for
# this process and the worker processes the tests start.
os.environ["CELERY_BROKER_URL"] = CELERY_BROKER_URL
DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME", "test_hrms")}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TENANT_LOCAL_CACHE_SECONDS = 5
# The Jira stand-in (tests/support/jira_standin.py) listens on 127.0.0.1; tests of the address policy turn
# this off again.
JIRA_ALLOW_PRIVATE_HOSTS = True
# Tests try many wrong passwords in a row: no pause of the tenant's hashing slot after each (one test sets it).
LOGIN_FAILURE_COOLDOWN_SECONDS = 0
