# The README's two set-up commands: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app wsgi
PYTEST_ARGS ?=
# The exact versions CI tested; pip installs within them (regenerate with `make constraints`).
CONSTRAINTS := constraints.txt
PORT ?= 5000

.PHONY: run test lint install dev constraints translations extract-messages bench clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) | $(VENV)/bin/python
	$(PY) -m pip install -q -c $(CONSTRAINTS) -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install -q -c $(CONSTRAINTS) -e ".[dev]"
	touch $@

# Re-pin after changing dependencies in pyproject.toml: a throw-away venv with only the project
# (and its dev extra) installed, frozen.
constraints:
	rm -rf .venv-lock
	python3 -m venv .venv-lock
	.venv-lock/bin/python -m pip install -q --upgrade pip
	.venv-lock/bin/python -m pip install -q -e ".[dev]"
	echo "# The versions CI tested (pip install -c constraints.txt); regenerate with \`make constraints\`." > $(CONSTRAINTS)
	.venv-lock/bin/python -m pip freeze --exclude-editable >> $(CONSTRAINTS)
	rm -rf .venv-lock

install: $(VENV)/.installed translations
dev: $(VENV)/.installed-dev translations

# Compiled catalogues (.mo) are built, not committed.
translations: $(VENV)/.installed
	$(VENV)/bin/pybabel -q compile -d app/translations

# Refresh the English catalogue after adding or changing visible strings.
extract-messages: $(VENV)/.installed
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -o messages.pot --no-location --sort-output .
	$(VENV)/bin/pybabel -q update -i messages.pot -d app/translations --no-fuzzy-matching
	rm -f messages.pot

run: install
	KAOPING_ENV=development $(FLASK) db upgrade
	KAOPING_ENV=development $(FLASK) seed-demo --if-empty
	@echo ""
	@echo "Kaoping is starting on http://127.0.0.1:$(PORT) (Ctrl+C to stop)"
	@# With JOBS_REDIS_URL set, background jobs need a worker: start one beside the server.
	@if [ -n "$$JOBS_REDIS_URL" ]; then \
		KAOPING_ENV=development $(FLASK) worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		KAOPING_ENV=development $(FLASK) run --host 127.0.0.1 --port $(PORT); \
	else \
		KAOPING_ENV=development $(FLASK) run --host 127.0.0.1 --port $(PORT); \
	fi

test: dev
	$(PY) -m pytest $(PYTEST_ARGS)

# Lint and type-check (configured in pyproject.toml); .ci/run runs it before the tests.
lint: dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: dev
	for script in benchmarks/bench_*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) instance/kaoping.db* .pytest_cache
