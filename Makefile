# OneWindow — two commands do all the set-up: `make run` and `make test`.
# Both install from the hash-locked requirements/*.txt (pip --require-hashes): the versions the tests passed with.
# `make lock` regenerates the locks from pyproject.toml with uv (see requirements/README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= config.toml
HOST   ?= 127.0.0.1
PORT   ?= 8000
UV_VERSION ?= 0.13.8
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet
LOCK   := $(BIN)/uv pip compile --universal --python-version 3.11 --generate-hashes --no-header --quiet

.PHONY: run demo test test-cluster install install-test system-test check-config lock font bench voice-clips clean

$(BIN)/activate:
	@sh scripts/system-deps.sh venv $(PYTHON)
	$(PYTHON) -m venv $(VENV)

# runtime: the locked runtime dependencies, then the project itself (editable, no dependency resolution)
$(VENV)/.installed-run: $(BIN)/activate requirements/build.txt requirements/runtime.txt pyproject.toml
	$(PIP) install --require-hashes -r requirements/build.txt
	$(PIP) install --require-hashes -r requirements/runtime.txt
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-run requirements/test.txt
	$(PIP) install --require-hashes -r requirements/test.txt
	touch $@

install: $(VENV)/.installed-run
install-test: $(VENV)/.installed-test

system-test:
	@sh scripts/system-deps.sh test

run: install
	$(BIN)/onewindow serve --config $(CONFIG) --host $(HOST) --port $(PORT)

demo: install
	$(BIN)/onewindow serve --demo --config $(CONFIG) --host $(HOST) --port $(PORT)

test: install-test system-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# the core suites again with the session's store a Redis Cluster (3 primaries + 3 replicas on loopback ports)
CLUSTER_SUITES = tests/test_engine.py tests/test_api.py tests/test_counter_api.py tests/test_kiosk_api.py \
	tests/test_exactly_once.py tests/test_idempotency.py tests/test_interleaving.py tests/test_durability.py \
	tests/test_rating.py tests/test_sessions.py tests/test_devices_and_limits.py tests/test_outbox.py \
	tests/test_metrics.py tests/test_stats.py tests/test_backup.py tests/test_cases.py tests/test_tracking.py \
	tests/test_appointments.py tests/test_realname.py tests/test_remote.py tests/test_notifications.py \
	tests/test_chaos.py tests/test_event_follower.py
test-cluster: install-test
	ONEWINDOW_TEST_STORE=cluster $(BIN)/python -m pytest $(PYTEST_ARGS) $(CLUSTER_SUITES)

check-config: install
	$(BIN)/onewindow check-config --config $(CONFIG) --host $(HOST)

# Regenerate the locks after changing dependencies in pyproject.toml (commit requirements/*.txt with it).
lock: $(BIN)/activate
	$(PIP) install uv==$(UV_VERSION)
	$(LOCK) -o requirements/build.txt requirements/build.in
	$(LOCK) -o requirements/runtime.txt pyproject.toml
	$(LOCK) -o requirements/test.txt --extra test -c requirements/runtime.txt pyproject.toml

# Regenerate the shipped CJK font (shared/static/fonts) from its source on PyPI.
font: install
	$(PIP) install fonttools==4.68.0 brotli==1.2.1
	$(BIN)/python scripts/make_font.py

bench: install-test
	$(BIN)/python bench/bench_api.py
	$(BIN)/python bench/bench_throughput.py
	$(BIN)/python bench/bench_display.py --worker gthread
	$(BIN)/python bench/bench_display.py --worker gevent
	$(BIN)/python bench/bench_stats.py
	$(BIN)/python bench/bench_once.py
	$(BIN)/python bench/bench_login.py
	$(BIN)/python bench/bench_checkin.py

voice-clips: install
	$(BIN)/python scripts/make_voice_clips.py

clean:
	rm -rf $(VENV) var/ .pytest_cache
