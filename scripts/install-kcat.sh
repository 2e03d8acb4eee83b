#!/usr/bin/env bash
# kcat (librdkafka's command-line client) for the foreign-client integration test: a client no one here wrote,
# following a failover with only `mm2-failover client-config`. Debian's `kcat` package.
set -euo pipefail
exec bash "$(dirname "$0")/apt-install.sh" kcat "the foreign-client test" kcat
