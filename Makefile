# Two commands on a fresh machine: `make demo` (main job on the embedded default) and `make test`.
# Both create .venv and install the project on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test install clean-venv

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build on this machine's disk; an unpinned torch would pull a multi-GB CUDA build.
	# GPU users: install your CUDA torch first; setup.cfg only asks torch>=2.4.
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m experiments.run

test: $(STAMP)
	$(PY) -m pytest tests -q -p no:cacheprovider

clean-venv:
	rm -rf $(VENV)
