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

# DEMO_SECRET signs the links in the demo's outbox only; real sends read NEWSLETTER_SECRET
# from .env and refuse to start without it.
DEMO_SECRET := demo-only-secret-never-use-for-real-mail-0000
DEMO_ENV := NEWSLETTER_SECRET=$(DEMO_SECRET) NEWSLETTER_SMTP_URL= NEWSLETTER_PROVIDER=local \
	NEWSLETTER_DATABASE_URL=sqlite:///.newsletter/demo.db NEWSLETTER_OUTBOX=outbox

demo: install
	$(BIN)/newsletter validate $(EXAMPLE)
	$(BIN)/newsletter render $(EXAMPLE) --out build
	@echo "Open build/winter-2026.html in a browser; build/winter-2026.txt is the plain-text part."
	$(DEMO_ENV) $(BIN)/newsletter audience import examples/audience.csv
	$(DEMO_ENV) $(BIN)/newsletter send $(EXAMPLE) --yes --resend
	@echo "Open this message in any mail client: $$(ls -t outbox/new/* | head -n 1)"

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
