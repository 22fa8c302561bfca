#!/usr/bin/env bash
# Regenerates docs/report-demo.png: the top of the demo report, rendered by headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo run --release --quiet -- report --demo -q -o "$work/demo-report.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/profile" \
  --window-size=1100,3000 --screenshot=docs/report-demo.png "file://$work/demo-report.html" 2>/dev/null
echo "wrote docs/report-demo.png"
