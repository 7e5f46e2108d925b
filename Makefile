# trainerlab: the two README commands are `make reports` and `make test`.
PY        := .venv/bin/python
TL        := .venv/bin/trainerlab
SEED      ?= 7
export PYTHONWARNINGS ?= ignore::DeprecationWarning

.PHONY: reports test bench setup demo clean

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
