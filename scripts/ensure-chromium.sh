#!/usr/bin/env bash
# Install Debian's Chromium when it is missing: the browser tests drive it through Playwright and
# never download a browser of their own. `make test` calls this, so a fresh machine needs nothing more.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "the browser tests need Debian's chromium at /usr/bin/chromium; install it with your package manager" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
echo "installing Debian's chromium for the browser tests" >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
  || { $sudo apt-get update -q >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
