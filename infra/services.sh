#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on 127.0.0.1 (uses them where they already run, else
# installs them from Debian's packages and starts them), and that the PostgreSQL roles Portique
# uses exist. Idempotent; used by `make dev` and `make test`.
set -euo pipefail

PGHOST=127.0.0.1 PGPORT=${PGPORT:-5432}
OWNER_ROLE=${PORTIQUE_OWNER_ROLE:-portique_owner}
OWNER_PASSWORD=${PORTIQUE_OWNER_PASSWORD:-portique_owner}

say() { printf '\033[1m[services]\033[0m %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  say "installing $* from Debian's packages"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

pg_up() { pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

ensure_postgres() {
  if pg_up; then return; fi
  command -v pg_ctlcluster >/dev/null || apt_install postgresql postgresql-contrib
  local version
  version=$(ls /etc/postgresql | sort -V | tail -1)
  say "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || as_root pg_ctlcluster "$version" main start
  for _ in $(seq 1 30); do pg_up && return; sleep 1; done
  say "PostgreSQL did not start"; exit 1
}

ensure_redis() {
  if redis_up; then return; fi
  command -v redis-server >/dev/null || apt_install redis-server
  say "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --maxmemory-policy noeviction --dir /tmp --logfile /tmp/portique-redis.log
  for _ in $(seq 1 30); do redis_up && return; sleep 0.5; done
  say "Redis did not start"; exit 1
}

# psql as a superuser: over TCP where trust allows it (these machines), else as the postgres
# system user through the local socket (a fresh Debian install).
psql_admin() {
  if psql -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    psql -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -Atq "$@"
  else
    as_root runuser -u postgres -- psql -p "$PGPORT" -d postgres -v ON_ERROR_STOP=1 -Atq "$@"
  fi
}

ensure_owner_role() {
  # The owner role owns the schema and runs migrations; it is no superuser, so FORCEd row-level
  # security applies to it too. CREATEROLE lets `migrate` create the application role;
  # CREATEDB lets tests make one database per test file.
  psql_admin -c "do \$\$ begin
    if not exists (select from pg_roles where rolname = '$OWNER_ROLE') then
      create role $OWNER_ROLE login createdb createrole password '$OWNER_PASSWORD';
    end if; end \$\$;"
}

ensure_database() {
  local db=$1
  if [ "$(psql_admin -c "select 1 from pg_database where datname = '$db'")" != 1 ]; then
    say "creating database $db"
    psql_admin -c "create database $db owner $OWNER_ROLE"
  fi
}

# The directory's LDAP tests start their own slapd (test/directory/ldap-server.ts); only the
# binaries are needed here, not a running service.
ensure_slapd() {
  [ -x /usr/sbin/slapd ] || apt_install slapd ldap-utils
}

ensure_postgres
ensure_redis
ensure_slapd
ensure_owner_role
for db in "$@"; do ensure_database "$db"; done
