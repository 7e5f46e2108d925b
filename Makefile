# trainerlab: the two README commands are `make reports` and `make test`.
PY        := .venv/bin/python
TL        := .venv/bin/trainerlab
SEED      ?= 7
export PYTHONWARNINGS ?= ignore::DeprecationWarning

.PHONY: reports test lint docs bench setup demo clean lab spark

# The main job: environment, demo warehouse, every report, the index.
# A report that fails does not stop the index: publish still runs (the index shows the
# failed run and its error), both paths are printed, then make exits with report's code.
reports: setup
	$(TL) demo --seed $(SEED)
	@rc=0; $(TL) report --all || rc=$$?; \
	prc=0; $(TL) publish || prc=$$?; \
	echo "weekly quality report: $(CURDIR)/reports/weekly_quality/latest/report.html"; \
	echo "every report:          $(CURDIR)/reports/index.html"; \
	if [ $$rc -ne 0 ]; then echo "make reports: some reports failed (trainerlab report exit $$rc); see reports/index.html" >&2; \
	elif [ $$prc -ne 0 ]; then rc=$$prc; echo "make reports: trainerlab publish failed (exit $$prc)" >&2; fi; \
	exit $$rc

# The tests (what .ci/run runs): lint and format check first, then pytest on every CPU (pytest-xdist:
# each test file on one worker, so its module fixtures are built once; see docs/testing.md) with line coverage
# of trainerlab (a report at the end), then the 90% floor on the statistics core and the study modules
# (tools/coverage_floor.py). Files go out longest first (tests/durations.json; --no-loadscope-reorder keeps
# that order). One process, for debugging: $(PY) -m pytest -p no:xdist (or -n 0).
PYTEST_ARGS ?= -n auto --dist loadfile --no-loadscope-reorder --cov --cov-report=term
# While lint runs, one collection writes pytest's assertion-rewritten test modules to tests/__pycache__
# (even where PYTHONDONTWRITEBYTECODE is set), so the workers read them instead of each rewriting every
# test file again (~8 CPU-s per worker); and the package's own modules are compiled to bytecode (an editable
# install has none), so every CLI subprocess and report kernel stops compiling them on import.
test: setup
	{ $(PY) -m compileall -q src/trainerlab; \
	  env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -q --collect-only -p no:cacheprovider; } >/dev/null 2>&1 & warm=$$!; \
	$(MAKE) --no-print-directory lint; rc=$$?; wait $$warm; exit $$rc
	$(PY) -m pytest -q $(PYTEST_ARGS)
	$(PY) tools/coverage_floor.py

# ruff lint and format check, mypy strict on the statistics core and public API (configured in
# pyproject.toml); `ruff format` fixes the format.
LINTED := src tests bench tools
lint: setup
	$(PY) -m ruff check $(LINTED)
	$(PY) -m ruff format --check $(LINTED)
	$(PY) -m mypy

# The documentation site (mkdocs.yml), built offline and strict into site/.
docs: setup
	$(PY) -m mkdocs build --strict --site-dir site

# Benchmarks against reference packages, side by side; writes bench/RESULTS.md.
bench: setup
	$(PY) bench/run.py

setup: .venv/.trainerlab-installed

.venv/.trainerlab-installed: pyproject.toml tools/bootstrap.py src/trainerlab/__init__.py
	python3 tools/bootstrap.py

demo: setup
	$(TL) demo --seed $(SEED)

# JupyterLab for analysts (docs/python.md): 127.0.0.1 only, the project's kernel (registered inside .venv),
# TRAINERLAB_DB set so that tl.open() opens DB. `make lab DB=path/to/warehouse.duckdb LAB_PORT=8890`.
DB       ?= $(or $(TRAINERLAB_DB),$(CURDIR)/data/warehouse.duckdb)
LAB_PORT ?= 8888
# containers often run as root, and JupyterLab refuses root without --allow-root
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
lab: setup
	$(PY) -m ipykernel install --sys-prefix --name trainerlab --display-name "Python (trainerlab)" >/dev/null
	TRAINERLAB_DB="$(abspath $(DB))" TRAINERLAB_HOME="$(CURDIR)" $(PY) -m jupyter lab --ip 127.0.0.1 \
	  --port $(LAB_PORT) --no-browser --ServerApp.root_dir="$(CURDIR)/notebooks" \
	  --MappingKernelManager.default_kernel_name=trainerlab $(LAB_ROOT)

clean:
	rm -rf .venv data/warehouse.duckdb data/cache reports/*/ reports/index.html

# The Spark engine (docs/engines.md): the `spark` and `ibis` extras of pyproject.toml into .venv (only
# their own requirements: installing ".[spark]" would resolve bertopic's torch again; ibis is small and
# lets the tests run the Ibis engine on the same Spark). Spark also needs a Java 17+
# runtime, which pip cannot install (Debian: apt-get install default-jre-headless (Java 17 or newer); .ci/run does).
# Then, once per install, the class-data-sharing archive that the tests' short-lived Spark JVMs start from
# (trainerlab.engines.spark_cds; about a minute; docs/testing.md).
SPARK_REQS = $(shell python3 -c "import tomllib; x = tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']; print(' '.join(repr(r) for k in ('spark', 'ibis') for r in x[k]))")
spark: setup
	@if [ -x .venv/bin/uv ]; then .venv/bin/uv pip install --python $(PY) --compile-bytecode $(SPARK_REQS); \
	else $(PY) -m pip install -q $(SPARK_REQS); fi
	@command -v java >/dev/null 2>&1 || echo "make spark: no java on PATH; install a Java 17+ runtime (docs/engines.md)" >&2
	@$(PY) -m trainerlab.engines.spark_cds || echo "make spark: Spark runs without the tests' class-data-sharing archive" >&2
