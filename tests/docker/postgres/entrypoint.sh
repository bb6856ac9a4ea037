#!/bin/sh
# First start: a cluster whose superuser `postgres` has POSTGRES_PASSWORD; then the server,
# listening on the container's network with password authentication.
set -eu
mkdir -p "$PGDATA" /run/postgresql
chown -R postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    printf '%s\n' "$POSTGRES_PASSWORD" >/tmp/pwfile
    chown postgres /tmp/pwfile
    su postgres -c "initdb -D '$PGDATA' -U postgres --pwfile=/tmp/pwfile -A scram-sha-256 -E UTF8" >/dev/null
    rm -f /tmp/pwfile
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
fi
exec su postgres -c "exec postgres -D '$PGDATA'"
