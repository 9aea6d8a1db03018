# Sourced by run-tests: Poppler's pdftoppm and pdftotext, with which the tests render the
# statutory PDFs and disposal certificates to images and read their text back as a reader
# would (pypdf reads the structure; Poppler shows what a viewer shows). Installed when missing
# and we are root; the app itself never needs them.
ensure_pdf_tools() {
  if command -v pdftoppm >/dev/null && command -v pdftotext >/dev/null; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Poppler's PDF tools from Debian's packages..." >&2
    apt-get update -qq >&2 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >&2 &&
      return 0
  fi
  echo "no pdftoppm/pdftotext: install poppler-utils, or the PDF rendering tests fail" >&2
  return 0
}
