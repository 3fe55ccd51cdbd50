# The README's two commands: `make demo` and `make test`. Everything they need
# (Docker engine, test host images, the controller's virtualenv) they install themselves.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PYTHON ?= python3
TESTHOST := tests/testhosts/testhost
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Scenarios run side by side; 2 matches the 2 cores CI has.
MOLECULE_JOBS ?= 2

DEMO_HOST := djangoprod-demo
DEMO_NET := djangoprod-demo
DEMO_IP := 172.30.87.10

step = @printf '\n\033[1m==> %s\033[0m\n' "$(1)"

.PHONY: help
help:
	@echo "make demo       converge a local test host with site.yml and show it answering HTTPS"
	@echo "make demo-down  remove the demo host"
	@echo "make test       lint, unit tests, ansible-test sanity, collection install test, every molecule scenario"
	@echo "make lint | unit | sanity | molecule | molecule-all | integration | build | images | venv"
	@echo "bench/run       benchmarks (not part of make test)"

$(VENV)/.installed: requirements-dev.txt
	$(call step,controller tooling: $(VENV) from requirements-dev.txt (about a minute the first time))
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

.PHONY: venv
venv: $(VENV)/.installed

.PHONY: engine
engine:
	$(call step,Docker engine)
	$(TESTHOST) engine

.PHONY: images
images: engine
	$(call step,test host images debian12 + debian13 (debootstrap when the recipe changed, else cached))
	$(TESTHOST) image debian12 & p12=$$!; $(TESTHOST) image debian13 & p13=$$!; \
	  wait $$p12; wait $$p13

.PHONY: lint
lint: venv
	$(call step,ansible-lint (profile production) and ruff)
	ansible-lint
	ruff check plugins tests molecule roles/app/files bench/run bench/djangoprod_bench
	ruff format --check plugins tests molecule roles/app/files bench/run bench/djangoprod_bench

.PHONY: unit
unit: venv
	$(call step,pytest unit tests (plugins))
	pytest -q tests/unit

.PHONY: sanity
sanity: venv
	$(call step,ansible-test sanity on a copy of the collection)
	tests/tools/sanity

.PHONY: molecule
molecule: venv images
	$(call step,molecule scenarios on test hosts ($(MOLECULE_JOBS) at a time))
	tests/run-molecule -j $(MOLECULE_JOBS)

# Every scenario on both releases (make test runs most of them on Debian 12 only).
.PHONY: molecule-all
molecule-all: venv images
	$(call step,every molecule scenario on Debian 12 and 13 ($(MOLECULE_JOBS) at a time))
	ALL_RELEASES=1 tests/run-molecule -j $(MOLECULE_JOBS)

.PHONY: integration
integration: venv images
	$(call step,collection build + install + djangoprod.stack.site by FQCN on a test host)
	pytest -q -p no:cacheprovider tests/integration

.PHONY: test
test: venv images lint unit sanity integration molecule
	$(call step,all tests passed)

.PHONY: build
build: venv
	ansible-galaxy collection build --force

.PHONY: demo
demo: venv images
	@start=$$(date +%s); \
	printf '\n\033[1m==> demo host %s (%s)\033[0m\n' "$(DEMO_HOST)" "$(DEMO_IP)"; \
	$(TESTHOST) up $(DEMO_HOST) debian12 $(DEMO_NET) $(DEMO_IP) >/dev/null; \
	printf '\n\033[1m==> ansible-playbook -i inventories/demo site.yml\033[0m\n'; \
	ansible-playbook -i inventories/demo site.yml; \
	printf '\n\033[1m==> checking the result from this machine\033[0m\n'; \
	tests/demo-check "$(DEMO_IP)" "$$start"

.PHONY: demo-down
demo-down:
	$(TESTHOST) down $(DEMO_HOST)
	@echo "demo host removed"
