# The README's two set-up commands: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app wsgi
PYTEST_ARGS ?=

.PHONY: run test install dev translations extract-messages bench clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

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
	@echo "Kaoping is starting on http://127.0.0.1:5000 (Ctrl+C to stop)"
	@# With JOBS_REDIS_URL set, background jobs need a worker: start one beside the server.
	@if [ -n "$$JOBS_REDIS_URL" ]; then \
		KAOPING_ENV=development $(FLASK) worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		KAOPING_ENV=development $(FLASK) run --host 127.0.0.1 --port 5000; \
	else \
		KAOPING_ENV=development $(FLASK) run --host 127.0.0.1 --port 5000; \
	fi

test: dev
	$(PY) -m pytest $(PYTEST_ARGS)

bench: dev
	for script in benchmarks/bench_*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) instance/kaoping.db* .pytest_cache
