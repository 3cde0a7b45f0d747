# Two commands do all the set-up on a fresh machine:
#   make demo   the main job on the embedded default (no account, no server)
#   make test   everything the tests need, then the tests

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXAMPLE := campaigns/winter-2026.yaml

.PHONY: install demo test test-setup lint golden bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/newsletter validate $(EXAMPLE)
	$(BIN)/newsletter render $(EXAMPLE) --out build
	@echo "Open build/winter-2026.html in a browser; build/winter-2026.txt is the plain-text part."

test-setup: install
	bash scripts/test-setup.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: test-setup lint
	$(BIN)/pytest

golden: install
	$(BIN)/pytest tests/test_golden.py --update-golden

bench: test-setup
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf build outbox .newsletter .pytest_cache
