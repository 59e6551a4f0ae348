# make demo : set up (system packages, .venv, pinned torch, project) and run the main job
# make test : set up and run the test suite
VENV ?= .venv
export VENV

.PHONY: setup demo test bench
setup:
	bash scripts/setup.sh

demo: setup
	bash scripts/demo.sh

test: setup
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(VENV)/bin/python benchmarks/backbone.py
