# Verbatim: `make run` sets everything up and starts the bot (or the console); `make test` tests.
PYTHON ?= python3
VENV ?= .venv
# The CPU build of PyTorch, installed before anything else asks for torch. A deployer on another
# package index can point this at a CPU wheel, e.g. TORCH_SPEC="torch==2.13.0+cpu".
TORCH_SPEC ?= torch==2.13.0
PIP := $(VENV)/bin/pip
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: run test lint setup index bench clean

run: setup index
	$(PY) -m bot

# PostgreSQL and nginx for the scale-out tests, from Debian's packages when missing (as root).
test: setup
	tests/install_services.sh
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet "$(TORCH_SPEC)"
	$(PIP) install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# Incremental: only new or changed articles are embedded; a no-op takes well under a second.
index: setup
	$(PY) build_index.py --quiet

clean:
	rm -rf $(VENV) data
