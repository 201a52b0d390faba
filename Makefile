# Two commands on a fresh machine: `make demo` and `make test`. Both create what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Lambda runs python3.12; tests run under the same minor version. pyenv's interpreter is used when
# python3.12 is not on PATH.
PYTHON ?= $(shell for p in python3.12 $$(pyenv root 2>/dev/null)/versions/3.12*/bin/python3.12 /usr/bin/python3.12; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV := .venv
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
BIN := $(VENV)/bin
SAM := $(SAM_VENV)/bin/sam
PIP_QUIET := --quiet --disable-pip-version-check
REGION ?= eu-west-1
# The simulator's scheduler, compiled by Cython from its Python source (dev/emr_autoscaler_dev/sim/compiled.py).
SIM := dev/emr_autoscaler_dev/sim
SIM_BUILT := $(SIM)/_compiled.sha256

.PHONY: help venv sim sam-venv checkov-venv lint format typecheck unit template test demo bench clean

help:
	@echo "make demo   run the scaler on a local AWS (moto) against a cluster under changing YARN load"
	@echo "make test   ruff, mypy --strict, pytest, sam validate --lint, cfn-lint, checkov, sam build"
	@echo "make bench  print the benchmark tables"

$(BIN)/.installed: requirements/dev.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: Python 3.12 not found (install it, or pass PYTHON=/path/to/python3.12)" >&2; exit 1; }
	@echo "--> creating $(VENV) with $(PYTHON)"
	@rm -rf $(VENV) && $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install $(PIP_QUIET) -r requirements/dev.lock 2> >(grep -v "is ignored: it is neither" >&2)
	@$(BIN)/pip install $(PIP_QUIET) --no-deps --no-build-isolation -e . 2> >(grep -v "is ignored: it is neither" >&2)
	@touch $@

$(SAM_VENV)/bin/.installed: requirements/sam.lock
	@test -n "$(PYTHON)" || { echo "error: Python 3.12 not found" >&2; exit 1; }
	@echo "--> creating $(SAM_VENV) (aws-sam-cli and cfn-lint, apart from moto's pins)"
	@rm -rf $(SAM_VENV) && $(PYTHON) -m venv $(SAM_VENV)
	@$(SAM_VENV)/bin/pip install $(PIP_QUIET) -r requirements/sam.lock 2> >(grep -v "is ignored: it is neither" >&2)
	@touch $@

$(CHECKOV_VENV)/bin/.installed: requirements/checkov.lock
	@test -n "$(PYTHON)" || { echo "error: Python 3.12 not found" >&2; exit 1; }
	@echo "--> creating $(CHECKOV_VENV) (checkov, apart from the others: it pins an older boto3)"
	@rm -rf $(CHECKOV_VENV) && $(PYTHON) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/pip install $(PIP_QUIET) -r requirements/checkov.lock 2> >(grep -v "is ignored: it is neither" >&2)
	@touch $@

venv: $(BIN)/.installed

$(SIM_BUILT): $(BIN)/.installed $(foreach m,heaps cluster waiting engine,$(SIM)/$(m).py $(SIM)/$(m).pxd) $(SIM)/heaps.pyx $(SIM)/compiled.py $(SIM)/compile.py
	@# The build imports the package: let that import take the Python modules quietly while their build is stale.
	EMR_AUTOSCALER_SIM_PURE=1 $(BIN)/python -m emr_autoscaler_dev.sim.compile

sim: $(SIM_BUILT)
sam-venv: $(SAM_VENV)/bin/.installed
checkov-venv: $(CHECKOV_VENV)/bin/.installed

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: venv
	$(BIN)/mypy

unit: venv sim
	$(BIN)/pytest -q -n 2

template: sam-venv checkov-venv
	SAM_CLI_TELEMETRY=0 $(SAM) validate --lint --template-file template.yaml
	$(SAM_VENV)/bin/cfn-lint template.yaml
	@# Every skipped check is justified beside its resource (Metadata: checkov: skip); no Prisma Cloud download.
	$(CHECKOV_VENV)/bin/checkov --file template.yaml --framework cloudformation --compact --quiet --skip-download
	@# sam build looks for python3.12 on PATH; the sam venv's interpreter is one.
	PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 $(SAM) build --template-file template.yaml --build-dir .aws-sam/build
	@# The layer holds only what Lambda runs: no sandbox, simulator, CLI, moto or plotting.
	@! ls -d .aws-sam/build/CoreLayer/python/{emr_autoscaler_dev,moto,matplotlib,hypothesis,flask,werkzeug,emr_autoscaler/sandbox,emr_autoscaler/sim,emr_autoscaler/cli.py,emr_autoscaler/demo.py} 2>/dev/null | grep . \
		|| { echo "error: the built layer holds development code (listed above)" >&2; exit 1; }
	@echo "layer: $$(du -sh .aws-sam/build/CoreLayer | cut -f1), no development code"

test: lint typecheck unit template
	@echo "make test: all checks passed"

demo: venv
	$(BIN)/emr-autoscaler demo

bench: venv sim
	$(BIN)/python bench/api_calls.py
	$(BIN)/python bench/fanout.py
	$(BIN)/python bench/scaling.py
	$(BIN)/python bench/balance.py
	$(BIN)/python bench/sim_speed.py
	$(BIN)/python bench/fault_matrix.py
	$(BIN)/python bench/timings.py
	$(BIN)/python bench/cold_start.py

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .venv-layer .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
	rm -f $(SIM)/*.so $(SIM_BUILT)
