# Two commands do all the set-up on a fresh machine:
#   make studio   create .venv if needed, then start the studio on its bundled default models
#   make test     create .venv if needed, then run the test suite
# make test-fast skips the tests marked slow (a quick loop while working).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: studio test test-fast bench

$(VENV)/.ready: requirements.txt requirements-nodeps.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	touch $@

studio: $(VENV)/.ready
	$(PY) -m studio

test: $(VENV)/.ready
	$(PY) -m pytest -q

test-fast: $(VENV)/.ready
	$(PY) -m pytest -q -m "not slow"

bench: $(VENV)/.ready
	$(PY) bench/pix2pix_speed.py
