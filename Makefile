# Two commands do all the set-up on a fresh machine:
#   make studio   create .venv if needed, then start the studio on its bundled default models
#                 (options pass through: make studio ARGS="--port 7900 --streamlit-port 8600")
#   make test     create .venv if needed, then run the test suite
# make test-fast skips the tests marked slow (a quick loop while working).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: studio test test-fast bench

$(VENV)/.ready: requirements.txt requirements-nodeps.txt pyproject.toml
	@echo "Setting up $(VENV): installing the studio's Python packages (PyTorch, Gradio, Streamlit...)."
	@echo "This takes a few minutes, once; pip prints nothing meanwhile."
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	touch $@

studio: $(VENV)/.ready
	$(PY) -m studio $(ARGS)

test: $(VENV)/.ready
	$(PY) -m pytest -q

test-fast: $(VENV)/.ready
	$(PY) -m pytest -q -m "not slow"

bench: $(VENV)/.ready
	$(PY) bench/pix2pix_speed.py
