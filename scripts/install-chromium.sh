#!/usr/bin/env bash
# Chromium, headless, for the drill report's browser test (test/integration/drill-report-browser.test.ts): it
# renders a report and checks what is drawn. Debian's `chromium`, with DejaVu, the font the report's label widths
# are sized for.
set -euo pipefail
exec bash "$(dirname "$0")/apt-install.sh" chromium "the drill report's browser test" chromium fonts-dejavu-core
