# The two commands of the README: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint serve clean lock audit

demo: $(STAMP)
	$(BIN)/callproc demo

test: $(STAMP)
	scripts/test-tools.sh
	scripts/audit.sh $(BIN)/pip-audit requirements.lock requirements-dev.lock || [ $$? -eq 3 ]
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile tests/docker/*/Dockerfile
	$(BIN)/python -m pytest

serve: $(STAMP)
	$(BIN)/callproc serve

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
		{ echo "Python 3.11 or newer is needed (tried: '$(PYTHON)'); set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml requirements-dev.lock | $(BIN)/python
	@echo "installing call-processor and its test tools into $(VENV) (requirements-dev.lock) ..."
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

# The hashed lock files, from pyproject.toml (pip-tools in a venv of its own). Run after
# changing a dependency; commit both.
TOOLS := $(VENV)-tools
LOCK := env -u PIP_FIND_LINKS -u PIP_CONSTRAINT PIP_CONFIG_FILE=/dev/null $(TOOLS)/bin/pip-compile --quiet \
	--generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
lock: | $(TOOLS)/bin/pip-compile
	$(LOCK) -o requirements.lock pyproject.toml
	$(LOCK) --extra dev -o requirements-dev.lock pyproject.toml

$(TOOLS)/bin/pip-compile:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet 'pip-tools>=7.4,<8'

# Known vulnerabilities in the locked dependencies (pip-audit): exit 1 on a finding, 3 when
# the advisory service answers for none of them (said plainly).
audit: $(STAMP)
	scripts/audit.sh $(BIN)/pip-audit requirements.lock requirements-dev.lock

clean:
	rm -rf $(VENV) $(VENV)-tools var .pytest_cache .ruff_cache .hypothesis
