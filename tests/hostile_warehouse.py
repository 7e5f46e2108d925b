"""A "hostile warehouse": the seeded demo program with every free-text and name field carrying
script payloads and PII, for the tests of the published surface (pages, index, apps).

Built from a copy of the demo warehouse: each distinct value of a name field (vendor, rater,
task, intent, language, category, model version, suite, dataset, batch, source file,
guideline version, error category, judge, ...) is renamed to ``<original><payload> <pii>``,
consistently across every table that holds it, so the reports still find their groups,
joins and planted effects; a share of the item texts, rater comments and quarantined raw
rows get a payload and PII appended. :data:`REPORT_PARAMETERS` passes the hostile names as
``-p`` values where a report is parameterised by one (so page headers and the index carry
them too).

Payloads call ``alert("<field>")``: a dialog names the field whose value ran as script.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# What a page may never run. Each is data: shown as text, never page structure.
PAYLOADS = (
    '<script>alert("{f}")</script>',
    '<img src=x onerror=alert("{f}")>',
    '<svg onload=alert("{f}")>',
    '"\'><b onmouseover=alert("{f}")>',
    "<a href=\"javascript:alert('{f}')\">{f}</a>",
    "<iframe src=\"javascript:alert('{f}')\"></iframe>",
)
# What a page may never show. Each is found by trainerlab.pii.redact (checked by the tests).
PII = (
    "jane.doe@example.org",
    "+1 415 555 2671",
    "4111 1111 1111 1111",
    "leak.bob@example.net",
    "+44 20 7946 0958",
    "5500 0000 0000 0004",
)

# (tables, column, values to rename (None: every distinct value), the name's kind). Values of one kind
# get the same hostile name in every table (a language is also an interaction segment, an intent
# also an eval category), so joins and filters across tables still match.
NAME_FIELDS: list[tuple[tuple[str, ...], str, tuple[str, ...] | None, str]] = [
    (("annotations", "safety_reviews", "coaching_sessions"), "vendor", None, "vendor"),
    (("annotations", "audits", "safety_reviews", "coaching_sessions"), "annotator_id", None, "rater"),
    (
        ("annotations", "gold", "audits", "judge_labels", "label_schemas", "guideline_changes", "ingest_log"),
        "task",
        ("safety",),
        "task",
    ),
    (("items",), "intent", ("billing_refund", "order_status", "password_reset", "shipping_delay"), "intent"),
    (("eval_results",), "category", ("billing_refund", "order_status", "password_reset", "shipping_delay"), "intent"),
    (("items",), "language", ("de", "ja"), "language"),
    (("interactions", "safety_incidents", "refusal_cases"), "segment", ("de", "ja"), "language"),
    (("safety_incidents", "refusal_cases", "incidents"), "category", ("privacy", "hate"), "category"),
    (
        ("eval_results", "interactions", "safety_incidents", "refusal_cases", "incidents", "outcomes"),
        "model_version",
        ("v1.0", "v1.1"),
        "model_version",
    ),
    (("preferences",), "model_a", ("v1.0", "v1.1"), "model_version"),
    (("preferences",), "model_b", ("v1.0", "v1.1"), "model_version"),
    (("eval_results",), "suite", ("must_not_fail",), "suite"),
    (("items",), "dataset", ("halueval_general", "mqm_ted_ende"), "dataset"),
    (("annotations",), "batch_id", None, "batch"),
    (("ingest_log",), "source_file", None, "source_file"),
    (("annotations",), "guideline_version", ("v1", "v2"), "guideline_version"),
    (("guideline_changes",), "version", ("v1", "v2"), "guideline_version"),
    (("audits",), "error_category", None, "error_category"),
    (("audits",), "auditor_id", None, "auditor"),
    (("preferences", "judge_labels"), "judge_id", ("llm-judge", "human"), "judge"),
    (("judge_labels",), "judge_model", None, "judge_model"),
    (("requests",), "owner", None, "owner"),
    (("requests",), "kind", None, "request_kind"),
]
# Free texts: a payload and PII appended to a share of the rows (every `every`-th by rowid).
TEXT_FIELDS = [
    ("items", "prompt", 7),
    ("items", "response", 5),
    ("annotations", "comment", 3),
    ("quarantine", "raw", 1),
    ("quarantine", "reason", 1),
    ("incidents", "title", 1),
    ("incidents", "root_cause", 1),
    ("incidents", "mitigation", 1),
    ("surveys", "comment", 1),
]


def hostile(value: str, field: str, k: int) -> str:
    """``value`` with the ``k``-th payload (calling alert("field")) and the ``k``-th PII string appended."""
    return f"{value}{PAYLOADS[k % len(PAYLOADS)].format(f=field)} {PII[k % len(PII)]}"


def build(demo_db: Path, target: Path) -> dict:
    """Copy ``demo_db`` to ``target`` and make it hostile; return {(kind, original): hostile name}."""
    import duckdb

    shutil.copy(demo_db, target)
    renamed: dict[tuple[str, str], str] = {}
    con = duckdb.connect(str(target))
    try:
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        counter = 0
        for names, column, values, kind in NAME_FIELDS:
            present = [
                t
                for t in names
                if t in tables
                and column
                in {
                    c
                    for (c,) in con.execute(
                        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [t]
                    ).fetchall()
                }
            ]
            if values is None:
                found = set()
                for t in present:
                    found |= {
                        v
                        for (v,) in con.execute(
                            f'SELECT DISTINCT "{column}" FROM "{t}" WHERE "{column}" IS NOT NULL'
                        ).fetchall()
                    }
                values = tuple(sorted(found))
            for value in values:
                key = (kind, value)
                if key not in renamed:
                    renamed[key] = hostile(value, key[0], counter)
                    counter += 1
                for t in present:
                    con.execute(f'UPDATE "{t}" SET "{column}" = ? WHERE "{column}" = ?', [renamed[key], value])
        for table, column, every in TEXT_FIELDS:
            if table not in tables:
                continue
            for k in range(len(PAYLOADS)):
                con.execute(
                    f'UPDATE "{table}" SET "{column}" = coalesce("{column}", \'\') || ? '
                    f"WHERE rowid % ? = 0 AND (rowid // ?) % ? = ?",
                    [" " + hostile("", f"{table}.{column}", k), every, every, len(PAYLOADS), k],
                )
        # label_schemas stores each task's categories; the guideline change log its note.
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return renamed


def report_parameters(renamed: dict) -> dict[str, dict]:
    """Parameters that point each report at the hostile names (so it has data, and shows the `-p` values)."""
    v10, v11 = renamed[("model_version", "v1.0")], renamed[("model_version", "v1.1")]
    safety = renamed[("task", "safety")]
    return {
        "agreement": {"task": safety, "n_boot": 100, "quality_boot": 10, "top_items": 10},
        "dataset_qa": {"dataset": renamed[("dataset", "halueval_general")]},
        "drift": {},
        "error_analysis": {"model_version": v11},
        # real_judges off: the PandaLM and AlpacaEval 2 two-judge sections read bundled files only, no hostile
        # value reaches them (4.5 of the page's 12 CPU-s); tests/test_judges_report.py renders and checks them
        "judges": {
            "judge": renamed[("judge", "llm-judge")],
            "reference_judge": renamed[("judge", "human")],
            "n_boot": 100,
            "real_judges": False,
        },
        "overview": {},
        "post_incident": {"incident_id": "INC-003"},
        "quality_trends": {},
        "release_readiness": {"candidate": v11, "baseline": v10},
        "responsible_ai": {"candidate": v11, "baseline": v10, "n_boot": 50},
        "uplift": {"candidate": v11, "baseline": v10, "n_boot": 200},
        "vendor_scorecard": {},
        "vendor_qbr": {},
        "weekly_quality": {"task": safety},
    }
