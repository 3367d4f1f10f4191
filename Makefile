# logstore: two set-up commands from a fresh clone.
#   make serve   create the virtualenv, install, run `logstore serve` on the embedded default
#   make test    install, start Cassandra and RabbitMQ on loopback, lint, run the whole suite
# and, beyond the two:
#   make check   the inner loop, no server needed: lint, types, import contracts, and every test
#                not marked as needing a server (tests/servers.py), on both cores
#   make faults  the fault suite against a 3-node Cassandra on 127.0.0.1-3 (make cluster starts it)
#                and a 3-node RabbitMQ on 127.0.0.1:5681-5683 (make rabbitmq-cluster starts it)
#   make outdated  the pins of pyproject.toml that a newer release on the package index has passed
#   make soak    an hour at half of the pipeline's measured peak (benchmarks/soak/): memory,
#                descriptors, queues and latency each minute; every log checked at the end

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: serve test check lint pytest servers servers-down install clean cluster cluster-down faults \
        rabbitmq-cluster rabbitmq-cluster-down soak outdated

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
	scripts/prometheus.sh up
	scripts/tools.sh

servers-down:
	-scripts/prometheus.sh down
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

# LOGSTORE_TEST_NO_SERVERS=1: a test that reaches for a server without its mark fails, not passes
check: lint
	LOGSTORE_TEST_NO_SERVERS=1 $(BIN)/pytest -q -n 2 -m 'not server' $(PYTEST_ARGS)

cluster:
	scripts/cluster.sh up

cluster-down:
	-scripts/cluster.sh down

# three RabbitMQ nodes rabbit-1..3@localhost on 127.0.0.1:5681-5683, beside the single node on 5672
rabbitmq-cluster:
	scripts/rabbitmq-cluster.sh up

rabbitmq-cluster-down:
	-scripts/rabbitmq-cluster.sh down

# The fault suite on the 3-node cluster (bounded: each fault has its own timeout; loopback only).
# Prints the fault table and writes it to results/faults-cluster.md. The RabbitMQ cluster's rows
# store into the single Cassandra node, so it is started too.
faults: $(STAMP) cluster rabbitmq-cluster
	scripts/rabbitmq.sh up
	scripts/cassandra.sh up
	$(BIN)/pytest -v -m 'cluster or rabbitmq_cluster' tests/faults $(PYTEST_ARGS)

# The soak on the single test node (about 75 minutes: the peak probe, 60 minutes of load, the
# check of every log). Writes results/soak-<tag>/{summary.md,soak.json,soak.png}.
SOAK_ARGS ?= --minutes 60
soak: $(STAMP)
	scripts/rabbitmq.sh up
	scripts/cassandra.sh up
	$(BIN)/python -m benchmarks.soak $(SOAK_ARGS)

outdated: $(STAMP)
	$(BIN)/python scripts/outdated.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
