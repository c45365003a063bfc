#!/usr/bin/env bash
# Runs a command with the service URLs chosen by scripts/devservices.py (existing servers or embedded ones).
set -euo pipefail
if [ -f .data/services.env ]; then
  set -a
  # shellcheck disable=SC1091
  . .data/services.env
  set +a
fi
exec "$@"
