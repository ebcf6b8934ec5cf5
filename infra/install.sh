#!/usr/bin/env bash
# Installs the locked npm dependencies when they are missing or older than package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e 'const [major] = process.versions.node.split(".").map(Number); if (major < 20) { console.error(`Portique needs Node.js 20 or newer (found ${process.version})`); process.exit(1); }'
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  printf '\033[1m[install]\033[0m npm ci\n' >&2
  npm ci --no-audit --no-fund
fi
