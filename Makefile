# Vigil developer commands. `make demo` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

DISTS := libs/schema libs/runtime migrations cli tools \
         services/ingest services/analyzer services/optimizer services/alerter services/retention
EDITABLE := -e libs/schema -e 'libs/runtime[embedded,containers,test]' -e migrations -e cli -e tools \
            -e services/ingest -e "services/analyzer[test]" -e services/optimizer -e "services/alerter[test]" -e services/retention
PYPROJECTS := $(addsuffix /pyproject.toml,$(DISTS))
SRC := libs cli migrations tools services bench

PYTEST_ARGS ?=

.PHONY: help venv models test demo lint fmt bench bench-ingest bench-analyzer bench-optimizer bench-alerter bench-retention stack-up stack-down clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(VENV)/bin/python $(PYPROJECTS) requirements/dev.txt requirements/constraints.txt
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c requirements/constraints.txt -r requirements/dev.txt $(EDITABLE)
	$(PY) -m vigil_analyzer.model_files
	@touch $(STAMP)

venv: $(STAMP) ## create or update .venv with every library, service and dev tool (editable)

models: $(STAMP) ## fetch and verify the detector's model files and test photographs (models/)
	$(PY) -m vigil_analyzer.model_files

test: venv models ## create the venv, install everything, run the whole test suite
	$(VENV)/bin/pytest $(PYTEST_ARGS)

demo: venv models ## run Vigil on a simulated fleet with the embedded local stack (Ctrl-C stops it)
	$(VENV)/bin/vigil demo

lint: venv ## ruff and mypy
	$(VENV)/bin/ruff check $(SRC)
	$(VENV)/bin/ruff format --check $(SRC)
	$(VENV)/bin/mypy $(SRC)

fmt: venv ## format the code with ruff
	$(VENV)/bin/ruff format $(SRC)
	$(VENV)/bin/ruff check --fix $(SRC)

bench: venv ## run the benchmarks (each run: bench/results/<name>/<time>.json, docs/benchmarks.md)
	$(PY) -m bench.run

BENCH_ARGS ?=
bench-ingest: venv ## ingest vs bare subscriber, psql COPY, naive INSERT (BENCH_ARGS="--duration 10")
	$(PY) -m bench.run ingest $(BENCH_ARGS)

bench-analyzer: venv ## analyzer pipeline vs bare backend loop, darknet and onnx (BENCH_ARGS="--repeat 1")
	$(PY) -m bench.run analyzer $(BENCH_ARGS)

bench-optimizer: venv ## fleet reviews/min and CPU per recommendation (BENCH_ARGS="--fleets 50,200")
	$(PY) -m bench.run optimizer $(BENCH_ARGS)

bench-alerter: venv ## alerts/s and delivery latency, vigil-alerter beside Alertmanager (BENCH_ARGS="--alerts 300")
	$(PY) -m bench.run alerter $(BENCH_ARGS)

bench-retention: venv ## expire a day: DETACH+DROP vs DELETE; scenario A rollup vs raw (BENCH_ARGS="--expiry-rows 1000000")
	$(PY) -m bench.run retention $(BENCH_ARGS)

stack-up: venv ## start PostgreSQL, Redis and Mosquitto as local processes in .vigil/
	$(VENV)/bin/vigil stack up

stack-down: venv ## stop the local stack
	$(VENV)/bin/vigil stack down

clean: ## remove the venv, caches and the local stack's data
	-$(VENV)/bin/vigil stack down 2>/dev/null
	rm -rf $(VENV) .vigil .pytest_cache .mypy_cache .ruff_cache .hypothesis
