# Two commands do all the set-up on a fresh machine:
#   make studio   create .venv if needed, then start the studio on its bundled default models
#   make test     create .venv if needed, then run the test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: studio test bench

$(VENV)/.ready: requirements.txt requirements-nodeps.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	touch $@

studio: $(VENV)/.ready
	$(PY) -m studio

test: $(VENV)/.ready
	$(PY) -m pytest -q

bench: $(VENV)/.ready
	$(PY) bench/pix2pix_speed.py
