# `make run` and `make test` are the two commands of the README's quick start. Both create .venv
# and install patroli into it (editable, with the dev group) when pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PIP_VERSION := 26.0.1

.PHONY: setup run test lint pytest clean chromium

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

pytest: setup
	@mkdir -p reports
	$(BIN)/pytest --junitxml=reports/junit.xml

clean:
	rm -rf $(VENV) reports .pytest_cache .mypy_cache .ruff_cache
