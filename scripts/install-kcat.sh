#!/usr/bin/env bash
# kcat (librdkafka's command-line client) for the foreign-client integration test: a client no one here wrote,
# following a failover with only `mm2-failover client-config`. Installed from Debian's `kcat` package when it is
# missing; `apt-get update` runs once, right before that install, and never when kcat is already there.
set -euo pipefail
if command -v kcat >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-kcat: kcat is missing and this machine has no apt-get; install kcat (librdkafka's CLI) by hand" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-kcat: kcat is missing; installing it needs root (or sudo): apt-get install -y kcat" >&2
    exit 1
  fi
  sudo=(sudo)
fi
echo "install-kcat: kcat is missing; installing Debian's kcat package" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq kcat >/dev/null
kcat -V | head -n 1 >&2
