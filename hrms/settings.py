"""Settings for every environment, read from the environment with development defaults.

Production differs only by environment variables; `hrms.settings_production` turns on the
deployment hardening that `manage.py check --deploy` asks for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE

from hrms.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
# Development fallback only; production refuses to start without SECRET_KEY (settings_production).
SECRET_KEY = env_str("SECRET_KEY", "dev-insecure-0b7c1f6e4a9d4f1c8e2b5a7d9c3e6f10-not-for-production")
BASE_DOMAIN = env_str("BASE_DOMAIN", "localhost")
API_HOSTS = env_list("API_HOSTS", [f"api.{BASE_DOMAIN}", "127.0.0.1", "testserver"])
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [f".{BASE_DOMAIN}", BASE_DOMAIN, "127.0.0.1", "testserver"])

# `tenants` comes first so its create_tenant/delete_tenant commands take precedence over django-tenants'.
SHARED_APPS = [
    "core",
    "tenants",
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.staticfiles",
    "django.contrib.messages",
    # The operator console (hrms/operator_console.py) on the public host: its sessions and log in public.
    "django.contrib.sessions",
    "django.contrib.admin",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "audit",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "rest_framework.authtoken",
    "audit",
    "accounts",
    # Second factor: TOTP devices and recovery codes live in each tenant's schema, beside the users.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "locks",
    "jobs",
    "notifications",
    "timesheets",
    "worktime",
    "jira_sync",
    "intelligence",
    "reports",
    "demo",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
TENANT_BASE_SCHEMA = env_str("TENANT_BASE_SCHEMA", "tenant_base")
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_LIMIT_SET_CALLS = False
TENANT_MIGRATE_PROCESSES = env_int("TENANT_MIGRATE_PROCESSES", 2)
# How long a process trusts its in-memory copy of a host -> tenant mapping before asking Redis again.
TENANT_LOCAL_CACHE_SECONDS = env_int("TENANT_LOCAL_CACHE_SECONDS", 5)
TENANT_REDIS_CACHE_SECONDS = env_int("TENANT_REDIS_CACHE_SECONDS", 300)
# How long a process encrypts under its copy of a tenant's data keys before asking Redis whether they were
# rotated: the time a key rotation takes to reach every web and worker process (tenants/crypto.py).
TENANT_KEYS_CHECK_SECONDS = env_int("TENANT_KEYS_CHECK_SECONDS", 2)

DATABASE_ROUTERS = ["core.replica.ReplicaRouter", "django_tenants.routers.TenantSyncRouter"]
EXTRA_SET_TENANT_METHOD_PATH = "core.replica.replica_follow_tenant"
READ_YOUR_WRITES_SECONDS = env_int("READ_YOUR_WRITES_SECONDS", 10)
REPLICA_RETRY_SECONDS = env_int("REPLICA_RETRY_SECONDS", 15)
MIGRATION_MODULES = {
    app: f"migrations.{app}"
    for app in (
        "tenants",
        "audit",
        "locks",
        "jobs",
        "notifications",
        "accounts",
        "timesheets",
        "worktime",
        "jira_sync",
        "intelligence",
    )
}

MIDDLEWARE = [
    # First: the request id, HTTP metrics and the per-request log line cover everything below.
    "hrms.request_context.RequestObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # X-Tenant on the API host: unknown and suspended tenants answer like a known one without credentials.
    "accounts.api_host.ApiHostTenantPrivacyMiddleware",
    "tenants.middleware.TenantResolutionMiddleware",
    # A tenant whose ML budget is spent is refused here, before authentication and the view run.
    "core.ratelimits.MlLoadSheddingMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.replica.ReadYourWritesMiddleware",
    "hrms.messages.PageMessageMiddleware",
    # An Admin of a tenant that requires a second factor and has none is sent to set one up first.
    "accounts.middleware.SecondFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it sees every response: the Content-Security-Policy header (CONTENT_SECURITY_POLICY below).
    "hrms.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "hrms.urls"
PUBLIC_SCHEMA_URLCONF = "hrms.urls_public"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # Panels other apps show on a page (core/panels.py), available to every template without a load.
            "builtins": ["core.templatetags.panels"],
        },
    },
]

WSGI_APPLICATION = "hrms.wsgi.application"


def _database(url: str) -> dict[str, Any]:
    config: dict[str, Any] = dict(dj_database_url.parse(url))
    config["ENGINE"] = "django_tenants.postgresql_backend"
    # Django's psycopg pool replaces persistent connections: CONN_MAX_AGE must stay 0.
    config["CONN_MAX_AGE"] = 0
    config["CONN_HEALTH_CHECKS"] = False
    options: dict[str, Any] = {"connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 5)}
    # PostgreSQL's JIT compiles any query its planner costs above 100,000: for the reports over a month of
    # 10,000 employees that compilation took 1.3 s of a 1.7 s statement, and no query of ours runs long enough
    # to win it back (docs/benchmarks.md). DATABASE_JIT=1 gives the server its own setting back.
    if not env_bool("DATABASE_JIT", False):
        options["options"] = "-c jit=off"
    if env_bool("DATABASE_POOL", True):
        options["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN", 1),
            "max_size": env_int("DATABASE_POOL_MAX", 8),
            "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
        }
    config["OPTIONS"] = options
    config["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME", "test_hrms")}
    return config


DATABASE_URL = env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hrms")
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
DATABASES: dict[str, dict[str, Any]] = {"default": _database(DATABASE_URL)}
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = _database(DATABASE_REPLICA_URL)
    DATABASES["replica"]["OPTIONS"]["connect_timeout"] = env_int("DATABASE_REPLICA_CONNECT_TIMEOUT", 1)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "hrms")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "TIMEOUT": 300,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
            # Redis down means cache misses, not failed requests: PostgreSQL still answers.
            "IGNORE_EXCEPTIONS": True,
        },
    },
    # Cross-tenant infrastructure data (host -> tenant), deliberately not prefixed by schema.
    "shared": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"{CACHE_KEY_PREFIX}-shared",
        "TIMEOUT": 300,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
            "IGNORE_EXCEPTIONS": True,
        },
    },
}
# The ML endpoints' per-tenant rate limit (hrms/ratelimits.py): its own alias, with short timeouts, failing open.
CACHES["ratelimit"] = {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": REDIS_URL,
    "KEY_PREFIX": f"{CACHE_KEY_PREFIX}-ratelimit",
    "OPTIONS": {
        "CLIENT_CLASS": "django_redis.client.DefaultClient",
        "SOCKET_CONNECT_TIMEOUT": 0.2,
        "SOCKET_TIMEOUT": 0.2,
        "IGNORE_EXCEPTIONS": True,
    },
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/"
# Second factor (accounts/services/two_step.py): a code of the previous or the next 30 s step is accepted besides the
# current one, and each step's code works once. django-otp's own back-off is off: wrong codes count against
# the same per-account and per-address counters as wrong passwords (accounts/protection.py).
TWO_STEP_TOLERANCE_STEPS = env_int("TWO_STEP_TOLERANCE_STEPS", 1)
TWO_STEP_PENDING_SECONDS = env_int("TWO_STEP_PENDING_SECONDS", 300)
TWO_STEP_RECOVERY_CODES = 10
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0

# The words are English; dates and numbers follow the tenant's locale (tenants/locales.py), activated per request
# by the tenant resolution, with the formats of hrms/formats. LANGUAGE_CODE is the default locale's (en-GB).
LANGUAGE_CODE = "en-gb"
FORMAT_MODULE_PATH = ["hrms.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Our own CSS, JS and the vendored htmx: nothing is loaded from a CDN at run time.
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Signs audit chain heads; kept out of the database so a rewritten chain cannot be re-signed from it.
AUDIT_CHECKPOINT_KEY = env_str("AUDIT_CHECKPOINT_KEY", "dev-audit-checkpoint-key-not-for-production")

# Field encryption: "kid:base64(32 bytes)" entries, comma separated; the first one wraps new data keys.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", ["dev1:ZGV2LW9ubHktbWFzdGVyLWtleS0zMi1ieXRlcy0wMDA="])

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "hrms.negotiation.SingleRendererNegotiation",
    "DEFAULT_PARSER_CLASSES": ["core.parsers.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.DefaultPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "HRMS Timesheet Intelligence API",
    "DESCRIPTION": "Tenant-scoped API. Send `Authorization: Token <token>` and either use the tenant's "
    "host or the `X-Tenant: <slug>` header on the API host.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets used by several serializers, named once.
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "core.roles.ROLES",
        "InvitedEmployeeRoleEnum": [("Employee", "Employee"), ("Manager", "Manager")],
        "InvitationStatusEnum": "accounts.api_users.INVITATION_STATUSES",
        "ApiTokenStatusEnum": "accounts.api_tokens.TOKEN_STATUSES",
        "EmailStatusEnum": "notifications.models.EmailStatus",
    },
    # Error responses, UUID path ids and text rules shared by every operation (hrms/openapi.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "hrms.openapi.postprocess_schema"],
}

# Content-Security-Policy (django-csp; hrms/csp.py): scripts, styles, fonts and fetches only from this site, no
# plugins, no framing. Templates carry no inline script or handler (static/js/app.js, htmx from static/vendor;
# the Swagger page's start-up script is a file of its own and its styles a stylesheet). Inline style attributes
# remain allowed (`style-src-attr`): the server sets bar widths with them, and a style attribute runs no script;
# <style> elements and sheets from elsewhere are refused. Images also from data: URIs (icons inside CSS).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# E-mail (notifications/ is the only code that sends): SMTP by default; `make run` writes files to .data/mail.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / ".data" / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "HRMS <no-reply@localhost>")
# A message that cannot be handed to the SMTP server is tried again this many times, backing off from
# EMAIL_RETRY_SECONDS, then marked failed (visible in the API and on the e-mail page).
EMAIL_SEND_RETRIES = env_int("EMAIL_SEND_RETRIES", 5)
EMAIL_RETRY_SECONDS = env_int("EMAIL_RETRY_SECONDS", 30)
# Links in messages use the tenant's own host with this scheme (and port, when not the default one).
EMAIL_LINK_SCHEME = env_str("EMAIL_LINK_SCHEME", "https")
# The port in links of messages sent without a request (reminders), when the site is not on the scheme's default.
EMAIL_LINK_PORT = env_str("EMAIL_LINK_PORT", "")

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "redis://127.0.0.1:6379/1")
CELERY_RESULT_BACKEND: str | None = None
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
# A task must be killed before the broker would hand it to a second worker.
CELERY_TASK_TIME_LIMIT = min(env_int("CELERY_TASK_TIME_LIMIT", 3000), CELERY_VISIBILITY_TIMEOUT - 60)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
JOB_HEARTBEAT_TIMEOUT_SECONDS = env_int("JOB_HEARTBEAT_TIMEOUT_SECONDS", 300)
# How long a process remembers an API token's user and roles (tenants/authentication.py); 0 = every request.
AUTH_TOKEN_CACHE_SECONDS = env_int("AUTH_TOKEN_CACHE_SECONDS", 30)
# How often a process re-reads the tenant's credential generation (accounts/revocation.py): the longest a
# deactivated login, a role change or a revoked token keeps working in a process that had it cached.
AUTH_REVOCATION_CHECK_SECONDS = float(env_str("AUTH_REVOCATION_CHECK_SECONDS", "0.5"))
INVITATION_VALID_HOURS = env_int("INVITATION_VALID_HOURS", 72)
# Login protection (accounts/protection.py, django-ratelimit): failed sign-ins counted in fixed windows per
# client address and per account; past a limit the answer is 429 without hashing the password.
RATELIMIT_USE_CACHE = "ratelimit"
RATELIMIT_FAIL_OPEN = True  # Redis unreachable: sign-ins are not refused for it
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 20)
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 5)
# Refused single sign-on attempts (a forged callback, an outside domain, …) per client address and window; past it
# the answer is 429 and no more audit events are written for that address.
SSO_REFUSALS_PER_ADDRESS = env_int("SSO_REFUSALS_PER_ADDRESS", 50)
LOGIN_HASH_CONCURRENCY = env_int("LOGIN_HASH_CONCURRENCY", 1)
LOGIN_FAILURE_COOLDOWN_SECONDS = env_int("LOGIN_FAILURE_COOLDOWN_SECONDS", 2)
CELERY_BEAT_SCHEDULE = {
    "reap-stalled-jobs": {"task": "jobs.reap_stalled", "schedule": 60.0},
    "sign-audit-chain-heads": {"task": "audit.checkpoint_all", "schedule": 300.0},
    "start-due-jira-syncs": {"task": "jira_sync.start_due", "schedule": 60.0},
    # Hourly, so each tenant's pending suggestions expire soon after midnight in its own time zone.
    "expire-pending-suggestions": {"task": "timesheets.suggestions_expire_all", "schedule": crontab(minute=5)},
    # Week reminders and manager digests, each tenant in its own time zone (timesheets/services/reminders.py).
    "send-reminders": {"task": "timesheets.reminders_send", "schedule": crontab(minute=0)},
    # Every tenant's model retrained nightly; the fan-out staggers the tenants' jobs.
    "train-models-nightly": {"task": "intelligence.models_train_nightly", "schedule": crontab(hour=2, minute=30)},
    # ... and during the day for a tenant with ML_RETRAIN_MIN_DECISIONS new decisions since its last run.
    "train-models-when-due": {"task": "intelligence.models_train_when_due", "schedule": crontab(minute=40)},
    # Working-time violations of the last two weeks, recomputed from attendance (worktime/tasks.py).
    "check-compliance-nightly": {"task": "worktime.compliance_check_nightly", "schedule": crontab(hour=3, minute=15)},
}
# The learned predictor (intelligence/predictor.py): breaker shared through Redis, per tenant.
ML_BREAKER_FAIL_MAX = env_int("ML_BREAKER_FAIL_MAX", 5)
ML_RETRAIN_MIN_DECISIONS = env_int("ML_RETRAIN_MIN_DECISIONS", 500)
ML_BREAKER_RESET_SECONDS = env_int("ML_BREAKER_RESET_SECONDS", 60)
ML_PREDICT_BUDGET_SECONDS = env_int("ML_PREDICT_BUDGET_MS", 5000) / 1000
ML_TRAIN_STAGGER_SECONDS = env_int("ML_TRAIN_STAGGER_SECONDS", 30)
ML_THREADS = env_int("ML_THREADS", 1)

# The reverse proxies in front of gunicorn (deploy/nginx): X-Forwarded-For is believed only when the socket peer is
# in one of these networks, and then only for the entries they appended (core/proxy.py). Empty: never believed.
TRUSTED_PROXY_NETWORKS = env_list("TRUSTED_PROXY_NETWORKS", [])
# The Jira client connects only to public addresses (jira_sync/addresses.py). JIRA_ALLOW_PRIVATE_HOSTS=1 lets
# it reach private and loopback ones, for the local Jira stand-in of `make run` and the tests; production
# refuses to start with it. JIRA_REQUIRE_HTTPS refuses plain-http sites (always on in production).
JIRA_ALLOW_PRIVATE_HOSTS = env_bool("JIRA_ALLOW_PRIVATE_HOSTS", False)
JIRA_REQUIRE_HTTPS = env_bool("JIRA_REQUIRE_HTTPS", False)
# Single sign-on (accounts/oidc.py): a provider's issuer must be https when this is on (production turns it on; the
# loopback provider of the tests and `make run` is plain http). Each call to the provider waits at most this long.
SSO_REQUIRE_HTTPS = env_bool("SSO_REQUIRE_HTTPS", False)
SSO_HTTP_TIMEOUT_SECONDS = float(env_str("SSO_HTTP_TIMEOUT_SECONDS", "5"))

# /metrics answers the metrics network (the client address, core/proxy.py) or `Authorization: Bearer <METRICS_TOKEN>`;
# with METRICS_REQUIRE_TOKEN (always on in production) the token only.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_REQUIRE_TOKEN = env_bool("METRICS_REQUIRE_TOKEN", False)
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.1/32", "::1/128"])
# Queues whose depth /metrics reads from the broker.
CELERY_QUEUE_NAMES = env_list("CELERY_QUEUE_NAMES", ["celery", "generation", "sync", "training"])

# One JSON object per line (LOG_FORMAT=plain for a human-readable console).
LOG_FORMAT = env_str("LOG_FORMAT", "json")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "hrms.logging.ContextFilter"},
        "redact": {"()": "hrms.logging.RedactingFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(tenant)s] %(message)s"},
        "json": {"()": "hrms.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain" if LOG_FORMAT == "plain" else "json",
            "filters": ["context", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django_redis": {"level": "ERROR"},
        # Every request already has its own line (hrms.request); Django's 4xx warnings would repeat them.
        # 5xx errors, with their tracebacks, still come through.
        "django.request": {"level": "ERROR"},
        # httpx logs each Jira answer's status line and httpcore (at DEBUG) its headers: both are the remote
        # side's text, and a Jira site may be any server the tenant's admin names. Our client logs what we need.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
