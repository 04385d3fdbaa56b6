# OneWindow — two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= config.toml
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test install check-config bench voice-clips clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/onewindow serve --config $(CONFIG) --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check-config: install
	$(BIN)/onewindow check-config --config $(CONFIG)

bench: install
	$(BIN)/python bench/bench_api.py
	$(BIN)/python bench/bench_display.py --worker gthread
	$(BIN)/python bench/bench_display.py --worker gevent
	$(BIN)/python bench/bench_stats.py
	$(BIN)/python bench/bench_once.py
	$(BIN)/python bench/bench_login.py

voice-clips: install
	$(BIN)/python scripts/make_voice_clips.py

clean:
	rm -rf $(VENV) var/ .pytest_cache
