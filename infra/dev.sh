#!/usr/bin/env bash
# `make dev`: everything a newcomer needs, from a fresh Debian machine with Node 20, to two
# branded demo universities on http://nord.localhost:3000 and http://sud.localhost:3000.
# Ctrl-C stops what this script started (PostgreSQL and Redis, if it started them, keep running).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[dev]\033[0m %s\n' "$*" >&2; }

set -a; . infra/dev.env; set +a
bash infra/install.sh
bash infra/services.sh portique_dev

mkdir -p .dev/s3 .dev/mail .dev/logs
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() { for _ in $(seq 1 60); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.5; done; say "nothing answers on port $1"; exit 1; }

say "starting the local S3 server (port 9000) and the mail catcher (SMTP 1025, web 1080)"
node --import tsx infra/s3-server.ts >.dev/logs/s3.log 2>&1 & pids+=($!)
node node_modules/maildev/dist/bin/maildev.js --smtp 1025 --web 1080 --ip 127.0.0.1 --web-ip 127.0.0.1 --mail-directory .dev/mail >.dev/logs/mail.log 2>&1 & pids+=($!)
wait_port 9000
wait_port 1025

say "starting the development IdP (http://localhost:4000; demo accounts on its login page)"
node --import tsx infra/dev-idp/server.ts >.dev/logs/dev-idp.log 2>&1 & pids+=($!)
wait_port 4000
# SP private keys are encrypted at rest with this secret: generated once per machine, never in git.
[ -s .dev/saml-key-secret ] || node -e "console.log(require('crypto').randomBytes(32).toString('base64'))" >.dev/saml-key-secret
export SAML_KEY_SECRET="$(cat .dev/saml-key-secret)"

say "migrating the database"
bin/portique migrate
say "applying tenants/"
bin/portique tenants apply
bin/portique tenants list

say "starting the job worker (mail, imports, schedules; log in .dev/logs/worker.log)"
bin/portique worker >.dev/logs/worker.log 2>&1 & pids+=($!)

cat >&2 <<TXT

  Université du Nord   http://nord.localhost:3000
  Université du Sud    http://sud.localhost:3000
  Mail catcher         http://localhost:1080
  Development IdP      http://localhost:4000 (demo accounts: student, teacher, staff, admin)
  Operator console     http://console.localhost:3000 (consortium IdP: alice.operatrice)
  Health               http://localhost:3000/readyz

TXT
# JSON log lines, made readable for a person (production keeps raw JSON for the collector).
bin/portique serve | npx pino-pretty --singleLine --translateTime 'HH:MM:ss' --ignore pid,hostname
