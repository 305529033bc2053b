# SkillTrace — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint typecheck fmt install install-dev bench i18n clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip "setuptools>=68,<81" wheel

# Runtime install; re-done when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

# Test tooling. face-recognition is only the naive baseline for benchmarks and a compatibility
# test; --no-deps because its metadata names `dlib`, which would compile for many minutes
# (we have the prebuilt dlib-bin).
$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PIP) install -e ".[dev]"
	$(PIP) install --no-deps "face-recognition>=1.3.0"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Set up, migrate, seed demo data (only into an empty database) and serve on $(HOST):$(PORT).
run: install
	$(BIN)/skilltrace migrate
	$(BIN)/skilltrace seed-demo --keep
	$(BIN)/skilltrace serve --host $(HOST) --port $(PORT)

## Set up and run the whole suite (fails if no test ran).
test: install-dev
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=40 $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check app tests benchmarks migrations/env.py
	$(BIN)/ruff format --check app tests benchmarks
	$(BIN)/mypy

fmt: install-dev
	$(BIN)/ruff format app tests benchmarks
	$(BIN)/ruff check --fix app tests benchmarks

## Re-extract the pages' strings (babel.cfg) and update the English catalogue; then translate
## what is new in app/web/locale/en/LC_MESSAGES/messages.po (tests/web/test_i18n.py checks).
## Sorted by message and without file:line comments, so that two branches that each add a
## string do not conflict on every line number they shifted.
i18n: install
	$(BIN)/pybabel extract -F babel.cfg --no-wrap --sort-output --no-location --project SkillTrace \
		--version 1 --copyright-holder SkillTrace --msgid-bugs-address "SkillTrace developers" \
		-o app/web/locale/messages.pot .
	$(BIN)/pybabel update -i app/web/locale/messages.pot -d app/web/locale -l en --no-wrap \
		--no-fuzzy-matching --ignore-obsolete

bench: install-dev
	$(BIN)/python benchmarks/calibrate.py
	$(BIN)/python benchmarks/face_latency.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
