# logstore: two set-up commands from a fresh clone.
#   make serve   create the virtualenv, install, run `logstore serve` on the embedded default
#   make test    install, start Cassandra and RabbitMQ on loopback, lint, run the whole suite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: serve test lint pytest servers servers-down install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

serve: $(STAMP)
	$(BIN)/logstore serve

servers:
	scripts/cassandra.sh up
	scripts/rabbitmq.sh up
	scripts/postgres.sh up
	scripts/chromium.sh

servers-down:
	-scripts/postgres.sh down
	-scripts/rabbitmq.sh down
	-scripts/cassandra.sh down

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest -v --durations=15 $(PYTEST_ARGS)

test: $(STAMP) servers lint pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
