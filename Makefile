# `make run` opens the reader (the bundled demo when no site is subscribed);
# `make test` runs the whole suite (the end-to-end tests start their own WordPress).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]' --config-settings editable_mode=compat
	touch $@

run: $(BIN)/.installed
	$(BIN)/broadsheet

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q

bench: $(BIN)/.installed
	$(BIN)/python bench/bench_unread.py
	$(BIN)/python bench/bench_sync.py
	$(BIN)/python bench/bench_tui.py
	$(BIN)/python bench/bench_rss.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
