# Two commands on a fresh clone: `make run` serves, `make test` runs every suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat setup.cfg | cksum | cut -d' ' -f1)

.PHONY: run test test-server test-extension lint fmt typecheck bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev]'
	rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)
	$(BIN)/balise serve --init

# The extension first: `npm ci` installs axe-core, which the browser tests of test-server use.
test: test-extension test-server

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

clean:
	rm -rf $(VENV) build dist *.egg-info server/*.egg-info
