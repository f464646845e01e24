# Sourced by .ci/run: PostgreSQL 16 with pgvector on 127.0.0.1 for the store tests, in a
# throwaway cluster of its own (no systemd, no system cluster touched).
# Debian bookworm packages no pgvector, so the binaries come from the PyPI wheel
# pgserver==0.1.4, which ships PostgreSQL 16 with vector.so: unpacked once into a cache
# outside the clone (readable by the postgres user, who runs the cluster) and reused.
# Exports OPENSCOPE_TEST_DATABASE_URL and stops the cluster when the shell exits.
PGSERVER_VERSION=0.1.4
PGSERVER_CACHE=${PGSERVER_CACHE:-/var/cache/openscope-pgserver}
PG_INSTALL="$PGSERVER_CACHE/$PGSERVER_VERSION/pgserver/pginstall"
if [ ! -x "$PG_INSTALL/bin/pg_ctl" ]; then
    pg_wheel_dir=$(mktemp -d)
    python3 -m pip download -q --no-deps --only-binary=:all: -d "$pg_wheel_dir" \
        "pgserver==$PGSERVER_VERSION"
    mkdir -p "$PGSERVER_CACHE/$PGSERVER_VERSION.partial"
    python3 -m zipfile -e "$pg_wheel_dir"/pgserver-*.whl "$PGSERVER_CACHE/$PGSERVER_VERSION.partial"
    chmod -R a+rX "$PGSERVER_CACHE/$PGSERVER_VERSION.partial"
    chmod a+x "$PGSERVER_CACHE/$PGSERVER_VERSION.partial"/pgserver/pginstall/bin/*
    # renamed only when whole, so an interrupted unpack is never taken for a cache
    rm -rf "${PGSERVER_CACHE:?}/$PGSERVER_VERSION"
    mv "$PGSERVER_CACHE/$PGSERVER_VERSION.partial" "$PGSERVER_CACHE/$PGSERVER_VERSION"
    rm -rf "$pg_wheel_dir"
fi
chmod a+rx "$PGSERVER_CACHE"
# PostgreSQL refuses to run as root: the cluster runs as the postgres user, made here on a
# machine that has none (Debian's postgresql package would have made it).
if ! id -u postgres >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi
PG_BIN="$PG_INSTALL/bin"
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
# pgvector for the vector stores' index; creating an extension takes a superuser, which
# the server's own user need not be.
su postgres -c "$PG_BIN/psql -h 127.0.0.1 -p $PG_PORT -U postgres -d openscope_test \
    -v ON_ERROR_STOP=1 -q -c 'CREATE EXTENSION IF NOT EXISTS vector'"
export OPENSCOPE_TEST_DATABASE_URL="postgresql+asyncpg://openscope:openscope@127.0.0.1:$PG_PORT/openscope_test"
