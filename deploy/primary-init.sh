#!/bin/sh
# First start of the primary: a role for the streaming replica and a pg_hba line that lets it replicate.
set -eu
psql -v ON_ERROR_STOP=1 -U postgres -c "CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD 'replicator'"
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
