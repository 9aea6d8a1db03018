# Sourced by run-tests: find (or, as root, start or install) a PostgreSQL server on
# 127.0.0.1:5432 for the test suite, and print the DATABASE_URL to reach it. Returns 1 with
# nothing printed only where none can be had.
MNVAULT_PG_TEST_PASSWORD="mnvault-tests-only"

_pg_answers() {  # $1: URL; -w: never prompt for a password
  psql -w "$1" -Atqc 'SELECT 1' </dev/null >/dev/null 2>&1
}

_pg_install_and_start() {
  [ "$(id -u)" = 0 ] || return 1
  if ! command -v pg_ctlcluster >/dev/null && command -v apt-get >/dev/null; then
    echo "installing PostgreSQL from Debian's packages..." >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2 \
      || return 1
    _PG_INSTALLED_HERE=1
  fi
  command -v pg_ctlcluster >/dev/null || return 1
  local version
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)"
  [ -n "$version" ] || return 1
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 2>/dev/null || true
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && return 0
    sleep 1
  done
  return 1
}

ensure_postgres() {
  local base="127.0.0.1:5432"
  if [ -n "${MNVAULT_TEST_DATABASE_URL:-}" ]; then echo "$MNVAULT_TEST_DATABASE_URL"; return 0; fi
  pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || _pg_install_and_start || return 1
  command -v psql >/dev/null || return 1
  if _pg_answers "postgres://postgres@$base/postgres"; then  # trust, as on the CI machine
    echo "postgres://postgres@$base/mnvault_ci"
    return 0
  fi
  local with_password="postgres://postgres:$MNVAULT_PG_TEST_PASSWORD@$base"
  if _pg_answers "$with_password/postgres"; then
    echo "$with_password/mnvault_ci"
    return 0
  fi
  # A server this script installed asks for passwords on TCP (Debian's default): give its
  # postgres role the test password. Never done to a server that was there before.
  if [ "${_PG_INSTALLED_HERE:-0}" = 1 ] && runuser -u postgres -- psql -Atqc \
      "ALTER ROLE postgres PASSWORD '$MNVAULT_PG_TEST_PASSWORD'" </dev/null >/dev/null 2>&1; then
    echo "$with_password/mnvault_ci"
    return 0
  fi
  echo "PostgreSQL answers but refuses the tests: set MNVAULT_TEST_DATABASE_URL" >&2
  return 1
}
