#!/bin/sh
# Initialise an empty PGDATA with POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB (password
# authentication from other hosts, as the official image does), then run the command as
# the postgres user.
set -eu
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    password_file=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$password_file"
    chown postgres "$password_file"
    as_postgres initdb --username="$POSTGRES_USER" --pwfile="$password_file" \
        --auth-local=trust --auth-host=scram-sha-256
    rm -f "$password_file"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    as_postgres pg_ctl --wait --options="-c listen_addresses=''" start
    as_postgres createdb --username="$POSTGRES_USER" "$POSTGRES_DB"
    as_postgres pg_ctl --wait --mode=fast stop
fi
if [ "${1:-}" = postgres ]; then
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$@"
fi
exec "$@"
