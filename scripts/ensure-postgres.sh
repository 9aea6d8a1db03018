# Sourced by run-tests: make sure a PostgreSQL server answers on 127.0.0.1:5432, starting or
# installing Debian's when we are root. Returns 1 (with a message) only where none can be had.
ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return 0; fi
  if [ "$(id -u)" = 0 ]; then
    if ! command -v pg_ctlcluster >/dev/null && command -v apt-get >/dev/null; then
      echo "installing PostgreSQL from Debian's packages..."
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || true
    fi
    if command -v pg_ctlcluster >/dev/null; then
      local version
      version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)"
      if [ -n "$version" ]; then
        pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
        # Trust auth on loopback, as the CI machine has it; the test suite connects as postgres.
        for _ in $(seq 1 30); do
          pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && return 0
          sleep 1
        done
      fi
    fi
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null
}
