#!/usr/bin/env bash
# Render an HTML report in headless Chromium and save a full-page PNG screenshot, to check the
# report as a person sees it. Usage: scripts/screenshot_report.sh REPORT.html OUT.png [WIDTH] [HEIGHT]
# Needs Debian's chromium (apt-get install chromium). Not part of CI.
set -euo pipefail
html=$(realpath "$1"); out=$(realpath -m "$2"); width=${3:-1280}; height=${4:-4000}
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size="${width},${height}" \
  --screenshot="$out" "file://$html" 2>/dev/null
echo "$out"
