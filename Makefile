# make test: everything a fresh clone needs, installed from this repo's own pinned files, then every suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROVIDER := tests/provider

LINT_BIN := .venv-lint/bin

.PHONY: test sanity units integration demo bench soak lint release-check clean

test: sanity units integration

$(BIN)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

$(PROVIDER)/node_modules/.package-lock.json: $(PROVIDER)/package-lock.json
	npm ci --prefix $(PROVIDER) --no-audit --no-fund --loglevel=error

sanity: $(BIN)/.installed
	tests/sanity/run-sanity.sh $(BIN)/ansible-test

units: $(BIN)/.installed
	$(BIN)/python -m pytest tests/unit

integration: $(BIN)/.installed $(PROVIDER)/node_modules/.package-lock.json
	$(BIN)/python -m pytest tests/integration

# Starts the local provider and API, runs the playbooks by FQCN on four local hosts, stops everything.
demo: $(BIN)/.installed $(PROVIDER)/node_modules/.package-lock.json
	$(BIN)/python tests/harness.py run --workdir .build/demo/provider -- demo/demo.sh

# Not part of make test: real plays against the local provider, token requests and wall time per approach.
bench: $(BIN)/.installed $(PROVIDER)/node_modules/.package-lock.json
	$(BIN)/python tests/bench/bench.py

# Not part of make test (minutes): 200 hosts x 50 forks on one cached token, then again across a provider restart.
soak: $(BIN)/.installed $(PROVIDER)/node_modules/.package-lock.json
	$(BIN)/python tests/bench/soak.py

# ansible-lint (production profile, no skips) and yamllint, from their own pinned venv.
$(LINT_BIN)/.installed: tests/requirements/lint.txt
	$(PYTHON) -m venv .venv-lint
	$(LINT_BIN)/python -m pip install --quiet -r tests/requirements/lint.txt
	touch $@

lint: $(LINT_BIN)/.installed
	tests/lint/run-lint.sh $(LINT_BIN)

# The changelog, the tarball's contents, install from a clean path, antsibull-docs and ansible-builder create.
release-check: $(LINT_BIN)/.installed
	tests/release/check-release.sh $(LINT_BIN)

clean:
	rm -rf $(VENV) .venv-lint .ansible .build $(PROVIDER)/node_modules .pytest_cache
