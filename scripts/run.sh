#!/usr/bin/env bash
# Run the web server, Celery worker and Celery beat together (used by `make run`).
# Ctrl-C (or SIGTERM) stops all three; if any one of them exits, the others are stopped and we exit non-zero.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ! -f .data/services.env ]]; then
    echo "run.sh: .data/services.env not found; run '.venv/bin/python scripts/devservices.py ensure' first" >&2
    exit 1
fi
set -a
# shellcheck source=/dev/null
. .data/services.env
set +a

pids=()
stopping=0

stop_all() {
    local pid
    if ((stopping)); then
        return 0
    fi
    stopping=1
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}

# shellcheck disable=SC2317  # invoked via trap
on_signal() {
    local sig=$1 code=$2 pid
    if ((stopping)); then
        # Second Ctrl-C while waiting for a graceful shutdown: force it.
        echo "run.sh: $sig again; killing ${pids[*]}" >&2
        for pid in "${pids[@]}"; do
            kill -KILL "$pid" 2>/dev/null || true
        done
        exit "$code"
    fi
    echo "run.sh: $sig received; stopping ${pids[*]} (repeat to force)" >&2
    stop_all
    exit "$code"
}

trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap stop_all EXIT

# The Jira stand-in listens on 127.0.0.1, an address the Jira client refuses unless this development setting is on
# (production refuses to start with it; docs/jira.md).
if [[ "${JIRA_STANDIN:-0}" == 1 ]]; then
    export JIRA_ALLOW_PRIVATE_HOSTS="${JIRA_ALLOW_PRIVATE_HOSTS:-1}"
fi

# Mail is written to files a developer can read (one file per message) unless an SMTP server is configured.
export EMAIL_BACKEND="${EMAIL_BACKEND:-django.core.mail.backends.filebased.EmailBackend}"
export EMAIL_FILE_PATH="${EMAIL_FILE_PATH:-$PWD/.data/mail}"
export EMAIL_LINK_SCHEME="${EMAIL_LINK_SCHEME:-http}"
export EMAIL_LINK_PORT="${EMAIL_LINK_PORT:-8000}"
mkdir -p "$EMAIL_FILE_PATH"

# Web and worker processes write their metrics here; /metrics merges them. Emptied on every start.
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$PWD/.data/metrics}"
rm -rf "$PROMETHEUS_MULTIPROC_DIR"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

.venv/bin/gunicorn hrms.wsgi:application -c hrms/gunicorn.conf.py &
pids+=("$!")
.venv/bin/celery -A hrms worker -l info -Q celery,generation,sync,training -c 2 &
pids+=("$!")
.venv/bin/celery -A hrms beat -l info --schedule .data/celerybeat-schedule &
pids+=("$!")
echo "run.sh: started gunicorn=${pids[0]} celery-worker=${pids[1]} celery-beat=${pids[2]}" >&2

# A local Jira stand-in seeded from the demo tenant, which it connects and syncs (docs/jira.md).
if [[ "${JIRA_STANDIN:-0}" == 1 && -n "${DEMO_SLUG:-}" ]]; then
    .venv/bin/python -m tests.support.jira_standin --demo-tenant "$DEMO_SLUG" &
    pids+=("$!")
    echo "run.sh: started jira-standin=${pids[3]}" >&2
fi

# A local OpenID Connect provider that the demo tenant's "Sign in with" button uses; it signs in the tenant's logins
# by e-mail address (docs/operations.md, "Single sign-on").
if [[ "${OIDC_STANDIN:-0}" == 1 && -n "${DEMO_SLUG:-}" ]]; then
    .venv/bin/python -m tests.support.oidc_provider --demo-tenant "$DEMO_SLUG" &
    pids+=("$!")
    echo "run.sh: started oidc-provider=${pids[-1]}" >&2
fi

# Block until the first child exits (the only children of this shell are the ones above).
status=0
wait -n || status=$?
echo "run.sh: a process exited (status $status); stopping the others" >&2
stop_all
exit $((status == 0 ? 1 : status))
