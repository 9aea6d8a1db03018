# Sourced by run-tests: Debian's Chromium for the browser tests (Playwright drives it; its own
# browser download cannot be used here), and Japanese fonts so pages render as users see them.
# Installed when missing and we are root.
ensure_chromium() {
  if command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi "noto.*cjk"; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Chromium and Japanese fonts from Debian's packages..." >&2
    apt-get update -qq >&2 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >&2 &&
      return 0
  fi
  command -v chromium >/dev/null ||
    echo "no Chromium: the browser tests will be skipped (they fail under CI=true)" >&2
  return 0
}
