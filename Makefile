# Resonant — every set-up step lives here, so a fresh machine needs only `make run` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export RESONANT_BIND ?= 127.0.0.1:8000
export WEB_CONCURRENCY ?= 2

.PHONY: install run test test-fast bench load lint sysdeps-test sysdeps-bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when the package metadata changed (quick and idempotent otherwise).
$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/gunicorn --config app/gunicorn_conf.py wsgi:app

test: install sysdeps-test
	$(BIN)/python -m pytest -q

test-fast: install sysdeps-test
	$(BIN)/python -m pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check engine app tests bench wsgi.py

# What the tests start besides gunicorn: redis-server, the shared rate-limit store (test_operability),
# and chromium, the browser Playwright drives in the playground tests (never a downloaded build).
TEST_DEBS := redis-server chromium
sysdeps-test:
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# Peers the benchmarks measure against: FluidSynth + FluidR3_GM, the lame CLI, nginx and wrk.
BENCH_DEBS := fluidsynth fluid-soundfont-gm lame nginx wrk
sysdeps-bench:
	@missing=""; for p in $(BENCH_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

bench: install sysdeps-bench
	$(BIN)/python -m bench

load: install sysdeps-bench
	$(BIN)/python -m bench.load

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
