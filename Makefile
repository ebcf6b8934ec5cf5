# Portique: `make dev` to run it, `make test` to test it, `make bench` to measure it.
SHELL := /bin/bash
.DEFAULT_GOAL := help
TEST_DATABASES :=

help:
	@echo "make dev     install, start local services, migrate, apply tenants/, serve the demo universities"
	@echo "make test    type-check and run the whole suite against real PostgreSQL, Redis, S3 and SMTP"
	@echo "make bench   run every benchmark (BENCH=<name> for one); results in bench/results/"
	@echo "make check   type-check only"

install:
	@bash infra/install.sh

dev: install
	@bash infra/dev.sh

check: install
	@npx tsc --noEmit

test: install
	@bash infra/services.sh
	@bash infra/browser.sh
	@npx tsc --noEmit
	@node infra/check-engines.mjs
	@npx tap $(TAP_ARGS)

bench: install
	@bash infra/services.sh
	@bash bench/run.sh $(BENCH)

.PHONY: help install dev check test bench
