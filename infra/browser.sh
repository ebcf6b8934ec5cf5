#!/usr/bin/env bash
# Debian's Chromium for the browser tests (playwright-core drives it; nothing is downloaded).
set -euo pipefail
if ! command -v chromium >/dev/null; then
  printf '\033[1m[browser]\033[0m installing chromium from Debian packages\n' >&2
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi
fi
