# `make run` opens the reader (the bundled demo when no site is subscribed);
# `make test` runs the whole suite (the end-to-end tests start their own WordPress).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]' --config-settings editable_mode=compat
	touch $@

run: $(BIN)/.installed
	$(BIN)/broadsheet

test: $(BIN)/.installed lint
	$(BIN)/python -m pytest -q

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(BIN)/.installed
	$(BIN)/python -m pip install -q -e '.[test,bench]' --config-settings editable_mode=compat
	$(BIN)/python bench/bench_unread.py
	$(BIN)/python bench/bench_sync.py
	$(BIN)/python bench/bench_tui.py
	$(BIN)/python bench/bench_rss.py
	$(BIN)/python bench/bench_scale.py
	$(BIN)/python bench/bench_search.py
	$(BIN)/python bench/bench_safe.py
	$(BIN)/python bench/bench_hostile.py
	$(BIN)/python bench/bench_feeds.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
