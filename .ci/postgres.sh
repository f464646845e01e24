# Sourced by .ci/run: PostgreSQL from Debian's packages on 127.0.0.1 for the store tests,
# in a throwaway cluster of its own (no systemd, Debian's default cluster untouched).
# Exports OPENSCOPE_TEST_DATABASE_URL and stops the cluster when the shell exits.
export DEBIAN_FRONTEND=noninteractive
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PG_PORT=${PG_PORT:-54329}
PG_DIR=$(mktemp -d /tmp/openscope-pg.XXXXXX)
chown postgres:postgres "$PG_DIR"
su postgres -c "$PG_BIN/initdb -D $PG_DIR/data -U postgres --auth=trust -E UTF8" >/dev/null
su postgres -c "$PG_BIN/pg_ctl -D $PG_DIR/data -l $PG_DIR/log -w \
    -o '-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR' start" >/dev/null
trap 'su postgres -c "$PG_BIN/pg_ctl -D $PG_DIR/data -m fast -w stop" >/dev/null; rm -rf "$PG_DIR"' EXIT
su postgres -c "$PG_BIN/psql -h 127.0.0.1 -p $PG_PORT -U postgres -v ON_ERROR_STOP=1 -q \
    -c \"CREATE USER openscope PASSWORD 'openscope'\" \
    -c 'CREATE DATABASE openscope_test OWNER openscope'"
export OPENSCOPE_TEST_DATABASE_URL="postgresql+asyncpg://openscope:openscope@127.0.0.1:$PG_PORT/openscope_test"
