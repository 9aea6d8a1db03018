# Sourced by run-app and run-tests: a virtual environment in .venv with mnvault installed,
# re-installed only when pyproject.toml changes. Usage: ensure_venv [extras]
ensure_venv() {
  local extras="${1:-}" python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "mnvault needs Python 3.11 or newer as '$python' (set PYTHON=...)" >&2
    exit 1
  fi
  # A venv made while python3-venv was missing has a python but no pip: make it again.
  if ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
    if ! "$python" -m venv --clear .venv 2>/dev/null; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
        "$python" -m venv --clear .venv
      else
        echo "could not create a virtual environment: install python3-venv" >&2
        exit 1
      fi
    fi
  fi
  local stamp=".venv/.mnvault-installed${extras:+-$extras}"
  local want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "installing mnvault and its dependencies into .venv ..." >&2
    local log=".venv/pip-install.log"
    if ! { .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip &&
      .venv/bin/python -m pip install --quiet --disable-pip-version-check \
        -e ".${extras:+[$extras]}"; } >"$log" 2>&1; then
      cat "$log" >&2
      echo "pip failed: see above (also in $log)" >&2
      exit 1
    fi
    echo "$want" > "$stamp"
  fi
}
