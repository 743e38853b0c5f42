# Two commands on a fresh clone: `make run` serves, `make test` runs every suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat setup.cfg | cksum | cut -d' ' -f1)
CATALOGUES := server/balise/translations
VERSION := $(shell sed -n 's/^version = //p' setup.cfg)

.PHONY: run test test-server test-extension lint fmt typecheck bench translations clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev]'
	rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)
	$(BIN)/balise serve --init

test: test-server test-extension

test-server: $(STAMP)
	$(BIN)/pytest

test-extension:
	@if [ -f extension/package.json ]; then \
		cd extension && npm ci --no-audit --no-fund --silent && npm test && npm run --silent lint; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

typecheck: $(STAMP)
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python tests/bench/bench_reader.py

# Extract the texts marked in code and templates, merge them into both catalogues (new ones
# arrive untranslated: fill in their msgstr), and compile the .mo files that ship.
translations: $(STAMP)
	$(BIN)/pybabel -q extract -F server/babel.cfg --add-location=file --sort-output \
		--project=Balise --version=$(VERSION) -o $(CATALOGUES)/messages.pot server
	$(BIN)/pybabel -q update -i $(CATALOGUES)/messages.pot -d $(CATALOGUES) --ignore-obsolete
	$(BIN)/pybabel compile -d $(CATALOGUES) --statistics

clean:
	rm -rf $(VENV) build dist *.egg-info server/*.egg-info
