#!/usr/bin/env bash
# Chromium, headless, for the drill report's browser test (test/integration/drill-report-browser.test.ts): it
# renders a report and checks what is drawn. Installed from Debian's `chromium` package when it is missing, with
# DejaVu, the font the report's label widths are sized for; recommends are left out (a headless render needs none).
# `apt-get update` runs once, right before that install, and never when chromium is already there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: chromium is missing and this machine has no apt-get; install Chromium by hand (the test runs 'chromium')" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-chromium: chromium is missing; installing it needs root (or sudo): apt-get install -y chromium" >&2
    exit 1
  fi
  sudo=(sudo)
fi
echo "install-chromium: chromium is missing; installing Debian's chromium package" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
chromium --version >&2
