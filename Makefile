# Two commands on a fresh clone: `make run` serves, `make test` runs every suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
# One stamp per install kind, named after the packaging files: `run` installs what serving
# needs; `dev` adds the test and lint tools. A changed setup.cfg or pyproject.toml installs again.
HASH := $(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)
RUN_STAMP := $(VENV)/.installed-$(HASH)-run
DEV_STAMP := $(VENV)/.installed-$(HASH)-dev
CATALOGUES := server/balise/translations
VERSION := $(shell sed -n 's/^version = //p' setup.cfg)

.PHONY: run test test-server test-extension lint fmt typecheck bench translations clean

$(BIN)/python:
	@echo "Creating $(VENV) with $(PYTHON)..."
	@$(PYTHON) -m venv $(VENV)
	@$(PIP) install --upgrade pip

# A dev install holds everything a run install does, so it leaves both stamps.
$(RUN_STAMP): setup.cfg pyproject.toml | $(BIN)/python
	@echo "Installing Balise into $(VENV) (once; a minute or two)..."
	@$(PIP) install -e .
	@rm -f $(VENV)/.installed-* && touch $@

$(DEV_STAMP): setup.cfg pyproject.toml | $(BIN)/python
	@echo "Installing Balise with its test and lint tools into $(VENV)..."
	@$(PIP) install -e '.[test,dev]'
	@rm -f $(VENV)/.installed-* && touch $@ $(RUN_STAMP)

run: $(RUN_STAMP)
	@$(BIN)/balise serve --init

# The extension first: `npm ci` installs axe-core, which the browser tests of test-server use.
test: test-extension test-server

test-server: $(DEV_STAMP) tests/a11y/node_modules/axe-core/axe.min.js
	$(BIN)/pytest

# axe-core for the accessibility audit (tests/test_a11y_browser.py), pinned by its lock file.
tests/a11y/node_modules/axe-core/axe.min.js: tests/a11y/package.json tests/a11y/package-lock.json
	cd tests/a11y && npm ci --prefer-offline --no-audit --no-fund --silent

test-extension:
	@if [ -f extension/package.json ]; then \
		cd extension && npm ci --prefer-offline --no-audit --no-fund --silent && npm test && npm run --silent lint; \
	fi

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

fmt: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(DEV_STAMP)
	$(BIN)/python tests/bench/bench_reader.py

# Extract the texts marked in code and templates, merge them into both catalogues (new ones
# arrive untranslated: fill in their msgstr), and compile the .mo files that ship. Unchanged
# texts leave every file as it was.
translations: $(RUN_STAMP)
	$(BIN)/pybabel -q extract -F server/babel.cfg --add-location=file --sort-output \
		--project=Balise --version=$(VERSION) -o $(CATALOGUES)/messages.pot server
	$(BIN)/pybabel -q update -i $(CATALOGUES)/messages.pot -d $(CATALOGUES) \
		--ignore-obsolete --ignore-pot-creation-date --no-fuzzy-matching
	$(BIN)/pybabel compile -d $(CATALOGUES) --statistics

clean:
	rm -rf $(VENV) build dist *.egg-info server/*.egg-info
