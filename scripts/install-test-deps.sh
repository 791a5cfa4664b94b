#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh machine: Python packages, and
# Debian's chromium + chromium-driver for the real-browser test (Playwright never
# downloads a browser of its own here; it drives /usr/bin/chromium).
set -euo pipefail
python -m pip install -q -r requirements-dev.txt
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium chromium-driver
fi
