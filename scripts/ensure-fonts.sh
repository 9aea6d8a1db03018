# Sourced by run-tests and run-app: the IPAex fonts that every statutory PDF embeds
# (mnvault/usage/pdf/fonts.py). Installed when missing and we are root; without them making a
# PDF fails with a message naming these packages (MNVAULT_PDF_FONT_DIR points elsewhere).
ensure_fonts() {
  local dir="${MNVAULT_PDF_FONT_DIR:-}"
  if [ -n "$dir" ]; then
    [ -f "$dir/ipaexm.ttf" ] && [ -f "$dir/ipaexg.ttf" ] && return 0
    echo "MNVAULT_PDF_FONT_DIR=$dir lacks ipaexm.ttf or ipaexg.ttf: PDFs will fail" >&2
    return 0
  fi
  if [ -f /usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf ] &&
    [ -f /usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf ]; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing the IPAex fonts for PDFs from Debian's packages..." >&2
    apt-get update -qq >&2 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        fonts-ipaexfont-mincho fonts-ipaexfont-gothic >&2 &&
      return 0
  fi
  echo "no IPAex fonts: install fonts-ipaexfont-mincho and fonts-ipaexfont-gothic," \
    "or PDFs cannot be made" >&2
  return 0
}
