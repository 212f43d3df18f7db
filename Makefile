# Two commands on a fresh machine: `make demo` and `make test`. Every target
# installs what it needs, idempotently, into .venv and the cqltest cache.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CACHE := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/cqltest
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: demo test lint venv jars control-plane nftables unit cassandra kube bench bench-localkube bench-peers clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "error: $(PY) not found; install Python 3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

jars: venv
	$(BIN)/cqltest cluster install

control-plane:
	bash scripts/install-control-plane.sh

# Partition faults cut traffic between local nodes with real nftables rules.
nftables:
	@command -v nft >/dev/null || { apt-get update -qq && apt-get install -y -qq nftables; }

demo: venv jars
	$(BIN)/cqltest run manifests/examples/smoke.yaml

lint: venv
	$(BIN)/ruff check operator testsuites tests benchmarks
	$(BIN)/ruff format --check operator testsuites tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: venv jars control-plane nftables lint
	$(BIN)/pytest -ra $(PYTEST_ARGS)

unit: venv
	$(BIN)/pytest -ra tests/unit $(PYTEST_ARGS)

kube: venv control-plane
	$(BIN)/pytest -ra tests/kube tests/localkube $(PYTEST_ARGS)

bench: venv jars
	$(BIN)/python benchmarks/cluster_startup.py

bench-localkube: venv jars control-plane
	$(BIN)/python benchmarks/localkube.py

# the peer clients go into their own cached venv (benchmarks/peers.py), never into .venv
bench-peers: venv jars
	$(BIN)/python benchmarks/peers.py

clean:
	rm -rf $(VENV)
