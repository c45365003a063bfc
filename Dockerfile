# Image for web, worker and beat: the same code, a different command (docker-compose.yml). It holds the runtime
# dependencies only (requirements-runtime.lock: no test, lint or load-test tools, no embedded servers), installed
# with their hashes, and runs as an unprivileged user. nginx runs in front of it (deploy/nginx).

FROM python:3.11-slim AS dependencies
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements-runtime.lock /tmp/requirements-runtime.lock
# Wheels only, so the image needs no compiler; any file whose hash is not in the lock is refused.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --require-hashes --only-binary=:all: -r /tmp/requirements-runtime.lock

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=hrms.settings_production BIND=0.0.0.0:8000
RUN groupadd --system --gid 10001 hrms \
    && useradd --system --uid 10001 --gid hrms --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin hrms
COPY --from=dependencies /opt/venv /opt/venv
WORKDIR /app
# The code and the collected static files stay owned by root: the application user can read them, not change them.
COPY . .
# Placeholders that only let the production settings load; the real values come from the environment at run time.
RUN SECRET_KEY=collectstatic AUDIT_CHECKPOINT_KEY=collectstatic \
    FIELD_ENCRYPTION_KEYS=build:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    python manage.py collectstatic --noinput --verbosity 0
USER hrms
EXPOSE 8000
# Liveness of the web process: /healthz on the port gunicorn binds (BIND), without curl in the image. The worker
# and beat services switch it off (docker-compose.yml); they serve no HTTP.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('BIND', '0.0.0.0:8000').rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2)"]
CMD ["gunicorn", "-c", "hrms/gunicorn.conf.py"]
