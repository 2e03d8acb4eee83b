#!/usr/bin/env bash
# Installs the Debian packages behind a command a test needs, when that command is missing: `apt-get update` runs
# once, right before the install, and nothing runs when the command is already there. Recommends are left out.
# Usage: apt-install.sh <command> <what it is for> <package>...
set -euo pipefail
cmd=$1
purpose=$2
shift 2
if command -v "$cmd" >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "apt-install: $cmd ($purpose) is missing and this machine has no apt-get; install it by hand: $*" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "apt-install: $cmd ($purpose) is missing; installing it needs root (or sudo): apt-get install -y $*" >&2
    exit 1
  fi
  sudo=(sudo)
fi
echo "apt-install: $cmd is missing; installing Debian's $*" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
echo "apt-install: $cmd is $(command -v "$cmd")" >&2
