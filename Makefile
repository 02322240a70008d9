# make test: everything a fresh clone needs, installed from this repo's own pinned files, then every suite on
# the oldest and the newest ansible-core line that requires_ansible (meta/runtime.yml) promises, and sanity and
# unit tests on every line in between.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROVIDER := tests/provider
NODE_MODULES := $(PROVIDER)/node_modules/.package-lock.json

# The version matrix: each ansible-core line in its own virtualenv, pinned by tests/requirements/ansible-<line>.txt,
# on a controller Python that line supports. The module also runs on TARGET_PYTHON, the oldest target Python of
# every line here that requirements.txt installs on (urllib3 2.6.3 needs 3.9).
OLDEST := 2.17
NEWEST := 2.22
MIDDLE := 2.18 2.19 2.20 2.21
LINES := $(OLDEST) $(MIDDLE) $(NEWEST)
CONTROLLER_PYTHON_2.17 := 3.11
CONTROLLER_PYTHON_2.18 := 3.11
CONTROLLER_PYTHON_2.19 := 3.12
CONTROLLER_PYTHON_2.20 := 3.12
CONTROLLER_PYTHON_2.21 := 3.13
CONTROLLER_PYTHON_2.22 := 3.13
TARGET_PYTHON := 3.9
MATRIX := .build/venv
TARGET_VENV := $(MATRIX)/target-python$(TARGET_PYTHON)
LINT_BIN := .venv-lint/bin

# pythonX.Y: pyenv's real interpreter if there is one (its shims refuse versions not selected), else from PATH.
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
python = $(or $(lastword $(sort $(wildcard $(PYENV_ROOT)/versions/$(1).*/bin/python$(1)))),python$(1))

.PHONY: help test check sanity units integration lint release-check docs build demo bench soak clean system-packages \
	$(addprefix sanity-,$(LINES)) $(addprefix units-,$(LINES)) $(addprefix integration-,$(LINES))

help:  ## this list
	@grep -hE '^[a-z][a-z0-9.%-]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([^:]*):.*## /  make \1\t/' | expand -t 22

# Sanity and unit tests run side by side. The integration suites run alone, one line after the other: some of their
# tests time what a token costs, and a busy machine fails them.
test:  ## what CI runs: sanity and units on every ansible-core line, lint and the release checks, integration on the oldest and newest
	$(MAKE) --no-print-directory -j2 --output-sync=target sanity units lint release-check
	$(MAKE) --no-print-directory integration

check:  ## the fast loop while developing: sanity, units and integration on the newest line only
	$(MAKE) --no-print-directory -j2 --output-sync=target sanity-$(NEWEST) units-$(NEWEST)
	$(MAKE) --no-print-directory integration-$(NEWEST)

sanity: $(addprefix sanity-,$(LINES))  ## ansible-test sanity: every target Python on the oldest and newest line, the controller's between
units: $(addprefix units-,$(LINES))  ## pytest tests/unit
integration:  ## real ansible-playbook against the local provider, newest line first
	@set -e; for line in $(NEWEST) $(OLDEST); do $(MAKE) --no-print-directory integration-$$line; done

$(VENV)/bin/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

$(MATRIX)/ansible-%/.installed: tests/requirements/ansible-%.txt
	rm -rf $(@D)
	$(call python,$(CONTROLLER_PYTHON_$*)) -m venv $(@D)
	$(@D)/bin/python -m pip install --quiet -r $<
	touch $@

$(TARGET_VENV)/.installed: tests/requirements/target-python$(TARGET_PYTHON).txt
	rm -rf $(@D)
	$(call python,$(TARGET_PYTHON)) -m venv $(@D)
	$(@D)/bin/python -m pip install --quiet -r $<
	touch $@

$(NODE_MODULES): $(PROVIDER)/package-lock.json
	npm ci --prefix $(PROVIDER) --no-audit --no-fund --loglevel=error

# The oldest and the newest line check every target Python; the lines between check their controller Python only, as
# the others' compile and import checks repeat those two lines' and would add minutes of venvs on a new machine.
$(addprefix sanity-,$(LINES)): sanity-%: $(MATRIX)/ansible-%/.installed
	SANITY_BUILD_ROOT=$(CURDIR)/.build/sanity-$* tests/sanity/run-sanity.sh $(MATRIX)/ansible-$*/bin/ansible-test \
		$(if $(filter $*,$(MIDDLE)),--python $(CONTROLLER_PYTHON_$*))

# The Debian packages the tests start on loopback (sshd, redis-server): installed as root, else named. A prerequisite,
# so that make runs it once however many suites run side by side (two apt-get at once would fail on dpkg's lock).
system-packages:
	tests/system-packages.sh

$(addprefix units-,$(LINES)): units-%: $(MATRIX)/ansible-%/.installed system-packages
	$(MATRIX)/ansible-$*/bin/python -m pytest -p no:cacheprovider tests/unit

# The newest line also runs without facts injected as variables (the future default), and fails on any
# [DEPRECATION WARNING]: what is left there is one the collection or its documented usage causes.
$(addprefix integration-,$(LINES)): integration-%: $(MATRIX)/ansible-%/.installed $(TARGET_VENV)/.installed $(NODE_MODULES) system-packages
	OAUTH2_TEST_TARGET_PYTHON=$(CURDIR)/$(TARGET_VENV)/bin/python \
	$(if $(filter $*,$(NEWEST)),ANSIBLE_INJECT_FACT_VARS=false OAUTH2_TEST_FAIL_ON_DEPRECATION=1) \
	$(MATRIX)/ansible-$*/bin/python -m pytest tests/integration

$(LINT_BIN)/.installed: tests/requirements/lint.txt
	$(PYTHON) -m venv .venv-lint
	$(LINT_BIN)/python -m pip install --quiet -r tests/requirements/lint.txt
	touch $@

lint: $(LINT_BIN)/.installed  ## yamllint, rstcheck of the guides, ansible-lint (production profile, no skips) on roles/ and playbooks/
	tests/lint/run-lint.sh $(LINT_BIN)

release-check: $(LINT_BIN)/.installed  ## changelog, tarball contents, install from a clean path, antsibull-docs, ansible-builder create
	tests/release/check-release.sh $(LINT_BIN)

docs: $(VENV)/bin/.installed $(NODE_MODULES)  ## the guides: rstcheck, and every example run against the local provider
	cd docs/docsite && $(CURDIR)/$(BIN)/rstcheck rst/*.rst
	$(BIN)/python -m pytest -p no:cacheprovider tests/integration/test_docs_examples.py tests/integration/test_awx_credential.py -q

build: $(MATRIX)/ansible-$(NEWEST)/.installed  ## the collection tarball, as ansible-galaxy builds it, into .build/dist
	$(MATRIX)/ansible-$(NEWEST)/bin/ansible-galaxy collection build --force --output-path .build/dist

demo: $(VENV)/bin/.installed $(NODE_MODULES)  ## local provider and API, the playbooks by FQCN on four local hosts
	$(BIN)/python tests/harness.py run --workdir .build/demo/provider -- demo/demo.sh

# The lookup's load cost on the newest and the oldest line (their YAML loaders differ), the plays on the newest.
# The plays first: bench.py starts from an empty .build/bench, where lookup_load.py then leaves its raw figures.
bench: $(addprefix $(MATRIX)/ansible-,$(addsuffix /.installed,$(LINES))) $(NODE_MODULES)  ## not in make test: token requests and wall time per approach, then the lookup's cost per forked worker
	$(MATRIX)/ansible-$(NEWEST)/bin/python tests/bench/bench.py
	@set -e; for line in $(NEWEST) $(OLDEST); do $(MATRIX)/ansible-$$line/bin/python tests/bench/lookup_load.py; done

soak: $(VENV)/bin/.installed $(NODE_MODULES) system-packages  ## not in make test: 200 hosts x 50 forks on one cached token, across a provider restart, and two controllers on Redis
	$(BIN)/python tests/bench/soak.py

clean:  ## remove every virtualenv, node_modules and build output
	rm -rf $(VENV) .venv-lint .ansible .build $(PROVIDER)/node_modules .pytest_cache
