# Sourced by run-tests: Debian's Chromium for the browser tests (Playwright drives it; its own
# browser download cannot be used here). Installed when missing and we are root.
ensure_chromium() {
  command -v chromium >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Chromium from Debian's packages..." >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2 \
      && return 0
  fi
  echo "no Chromium: the browser tests will be skipped (they fail under CI=true)" >&2
  return 0
}
