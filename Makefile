# flashsale: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
INFRA := infra/local/infra.sh
# Targets that need the infra source .run/infra.env unless FLASHSALE_* already point at one.
WITH_INFRA = if [ -z "$$FLASHSALE_KAFKA_BOOTSTRAP" ]; then bash $(INFRA) up && set -a && source .run/infra.env && set +a; fi

.PHONY: faults nemesis toxiproxy profile loadtest readme compose-up compose-down compose-config help install infra-up infra-down infra-status up down status init lint typecheck test test-unit demo check bench clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need python3 (3.11+)"; exit 1; }
	$(PYTHON) -m venv $(VENV) || { apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

# The dashboard's chart library (uPlot), pinned in dashboard/package.json, served locally.
dashboard/node_modules/.package-lock.json: dashboard/package.json dashboard/package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
	npm ci --prefix dashboard --no-audit --no-fund --loglevel=error

install: $(VENV)/.installed dashboard/node_modules/.package-lock.json ## Create .venv with the project and its dev tools, and the dashboard's chart library

infra-up: ## Start Kafka (KAFKA_BROKERS=3 for a cluster), Redis and PostgreSQL locally, no Docker
	@bash $(INFRA) up

infra-down: ## Stop the local infra; leaves no process behind
	@bash $(INFRA) down

infra-status: ## One line per infra service with its address
	@bash $(INFRA) status

toxiproxy: ## Build Toxiproxy (the network-fault tests' proxy) into .run/bin from the Go module proxy; a no-op once built
	@bash infra/local/toxiproxy.sh install

init: install ## Apply DB migrations and create the Kafka topics (idempotent)
	@$(WITH_INFRA) && $(PY) -m flashsale.cli init

up: install ## Start the infra and every service in the background (.run/services.env)
	@bash infra/local/services.sh up

down: ## Stop every service and the infra
	@bash infra/local/services.sh down

status: ## Show which services run
	@bash infra/local/services.sh status; bash $(INFRA) status

lint: install ## ruff (with the S rules)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install ## mypy (strict on the flashsale kernel)
	$(VENV)/bin/mypy

test-unit: install ## Unit tests only: no infra needed
	$(VENV)/bin/pytest tests/unit -q

test: lint typecheck ## ruff + mypy + every test against the real Kafka, Redis and PostgreSQL
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }
	@$(WITH_INFRA) && $(VENV)/bin/pytest -q

bench: install ## Measure the seed's claims side by side in one run (ratios; needs wrk, taskset)
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	@$(WITH_INFRA) && $(PY) -m loadtests.bench $(BENCH_ARGS) && $(PY) -m loadtests.bench_report

profile: install ## Profile the admission path under wrk load with py-spy (top frames; needs wrk)
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	@$(WITH_INFRA) && PATH="$(VENV)/bin:$$PATH" $(PY) -m loadtests.profile

faults: install ## Only the fault tests: crashes, restarts, network faults under load, then the audit (.run/faults/, README table)
	@$(WITH_INFRA) && $(VENV)/bin/pytest -m faults -q -s tests/faults && $(PY) -m tests.faults.report

nemesis: install ## The nemesis alone: SEED=... replays a run, NEMESIS_S=... sets its length (default 180 s)
	@$(if $(SEED),FLASHSALE_NEMESIS_SEED=$(SEED)) $(if $(NEMESIS_S),FLASHSALE_NEMESIS_S=$(NEMESIS_S)) $(VENV)/bin/pytest -q -s tests/faults/test_nemesis.py

check: install ## Check the invariants from the database
	@$(WITH_INFRA) && $(PY) -m flashsale.cli check

demo: up ## Start everything, run one flash sale through it and print the report
	@set -a && source .run/infra.env && set +a && $(PY) -m flashsale.cli demo

SHAPE ?= steady
USERS ?= 50
RATE ?= 10
TIME ?= 60s
WORKERS ?= 0
LOCUST = $(VENV)/bin/locust -f loadtests/locustfile.py

loadtest: up ## Locust buyers through the gateway (SHAPE=steady|spike|soak USERS RATE TIME WORKERS=2), then the invariants
	@$(WITH_INFRA) && mkdir -p .run/loadtest && sale=loadtest-$$(date +%s) && for i in $$(seq 1 $(WORKERS)); do $(LOCUST) --worker & done; \
	$(LOCUST) --headless -u $(USERS) -r $(RATE) --run-time $(TIME) --shape $(SHAPE) --sale-id $$sale $(if $(filter-out 0,$(WORKERS)),--master --expect-workers $(WORKERS)) \
	  --csv .run/loadtest/run --html .run/loadtest/report.html --only-summary $(LOCUST_ARGS); rc=$$?; wait; echo "report: .run/loadtest/report.html"; \
	$(PY) -m flashsale.cli check --sale $$sale --drain-s 120 && exit $$rc

readme: install ## Regenerate the README's configuration reference from the settings classes
	@$(PY) -m tests.config_reference

compose-up: ## Build the image and start the whole stack in Docker (needs .env: see compose.yaml)
	docker compose up -d --build

compose-down: ## Stop the Docker stack (add -v to delete its volumes)
	docker compose down

compose-config: ## Validate the compose files with Docker's own parser (needs docker and .env)
	docker compose config --quiet && docker compose -f compose.yaml -f compose.prod.yaml config --quiet

clean: down ## Stop everything and delete .run/ (data included)
	rm -rf .run
