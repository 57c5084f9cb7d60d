# The targets create the virtual environment $(VENV) from pyproject.toml on first use; only python3 is needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOG    := $(VENV)/install.log
# how pip and setuptools word a deprecation
DEPRECATIONS := DEPRECATION|DeprecationWarning|is deprecated

.PHONY: demo test bench install clean

# pip's output goes to $(LOG): printed in full when the installation fails; on success only the deprecations in it
# are (the rest is progress, and notes about the machine's pip configuration such as index locations it skips).
$(STAMP): pyproject.toml
	@echo "installing arbitrage and its dependencies into $(VENV)/ (log: $(LOG))"
	@$(PYTHON) -m venv $(VENV)
	@{ $(BIN)/pip install --upgrade pip && $(BIN)/pip install -e '.[dev]'; } > $(LOG) 2>&1 \
		|| { cat $(LOG) >&2; echo "error: installing into $(VENV)/ failed (pip's output above, also in $(LOG))" >&2; exit 1; }
	@if grep -qE '$(DEPRECATIONS)' $(LOG); then \
		echo "warning: the installation reports deprecations (details in $(LOG)):" >&2; \
		grep -E '$(DEPRECATIONS)' $(LOG) | sort -u >&2; fi
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/arbitrage demo

# 4 workers on 2 cores: most of the suite waits on the simulator's funding instants rather than computing.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 4

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache *.egg-info
