# trainerlab: the two README commands are `make reports` and `make test`.
PY        := .venv/bin/python
TL        := .venv/bin/trainerlab
SEED      ?= 7
export PYTHONWARNINGS ?= ignore::DeprecationWarning

.PHONY: reports test bench setup demo clean

# The main job: environment, demo warehouse, every report, the index.
reports: setup
	$(TL) demo --seed $(SEED)
	$(TL) report --all
	$(TL) publish
	@echo "weekly quality report: $(CURDIR)/reports/weekly_quality/latest/report.html"
	@echo "every report:          $(CURDIR)/reports/index.html"

# The tests (what .ci/run runs).
test: setup
	$(PY) -m pytest -q

# Benchmarks against reference packages, side by side; writes bench/RESULTS.md.
bench: setup
	$(PY) bench/run.py

setup: .venv/.trainerlab-installed

.venv/.trainerlab-installed: pyproject.toml tools/bootstrap.py
	python3 tools/bootstrap.py

demo: setup
	$(TL) demo --seed $(SEED)

clean:
	rm -rf .venv data/warehouse.duckdb data/cache reports/*/ reports/index.html
