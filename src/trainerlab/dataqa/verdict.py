"""The dataset QA report's checks (status and a finding per check) and its verdict sentences."""

from __future__ import annotations

import pandas as pd


def _qa_checks(out: dict, max_dup_rate: float) -> pd.DataFrame:
    rows = []
    sc = out["schema"]
    rows.append(
        {
            "check": "schema compliance",
            "status": "ok" if sc["n_errors"] == 0 else "alert",
            "finding": f"{sc['n_errors']:,} rule violations in {sc['rows']:,} rows"
            if sc["n_errors"]
            else f"all {sc['rows']:,} rows pass",
        }
    )
    for col, rep in out["duplicates"].items():
        s = rep.summary
        rate = s["dedup_rate"]["estimate"]
        status = "ok" if not (rate > max_dup_rate) else "warn"
        rows.append(
            {
                "check": f"duplicates in {col}",
                "status": status,
                "finding": f"{s['exact_duplicates']:,} exact and {s['near_duplicates'] or 0:,} near duplicates "
                f"({rate:.1%} of {s['rows']:,} rows)"
                if s["rows"]
                else "no rows",
            }
        )
    p = out["pii"]
    rows.append(
        {
            "check": "PII",
            "status": "ok" if p["records_with_pii"] == 0 else "alert",
            "finding": (
                f"{p['records_with_pii']:,} records contain PII "
                f"({p['leakage']['estimate']:.1f} per 1,000): "
                + ", ".join(f"{k} {v}" for k, v in p["counts"].items() if v)
            )
            if p["records_with_pii"]
            else f"no PII found in {p['n']:,} records",
        }
    )
    c = out["contamination"]
    if c is None:
        rows.append({"check": "contamination", "status": "info", "finding": "not checked (no benchmark items)"})
    else:
        k = c["summary"]["contaminated"]
        rows.append(
            {
                "check": "contamination",
                "status": "ok" if k == 0 else "alert",
                "finding": f"{k:,} of {c['summary']['n_bench']:,} {c['benchmark']} items share a "
                f"{c['summary']['n']}-gram with the other {c['n_train']:,} rows",
            }
        )
    r = out["retention"]
    expired = int(r["expired"].sum()) if len(r) else 0
    rows.append(
        {
            "check": "retention",
            "status": "ok" if expired == 0 else "warn",
            "finding": f"{expired:,} records past their retention period" if len(r) else "no retention policy applies",
        }
    )
    return pd.DataFrame(rows)


def _qa_verdict(out: dict) -> dict:
    checks = out["checks"]
    bad = checks[checks["status"].isin(["alert", "warn"])]
    status = "alert" if (checks["status"] == "alert").any() else ("warn" if len(bad) else "ok")
    name = out["dataset"] or out["table"]
    sentences = []
    if not len(bad):
        sentences.append(f"{name}: all {len(checks)} data-quality checks pass on {out['rows']:,} rows.")
    else:
        sentences.append(
            f"{name}: {len(bad)} of {len(checks)} data-quality checks need attention ({', '.join(bad['check'])})."
        )
    for row in bad.head(3).itertuples():
        sentences.append(f"{row.check[0].upper() + row.check[1:]}: {row.finding}.")
    if status == "alert":
        sentences.append("Fix or redact before the data is exported for training (export refuses records with PII).")
    elif status == "warn":
        sentences.append("Deduplicate or apply retention before the next snapshot.")
    else:
        sentences.append("The data can be snapshotted and exported as is.")
    while len(sentences) < 3:
        sentences.append(f"Checked: schema, duplicates, PII, contamination and retention on {out['rows']:,} rows.")
    return {"status": status, "sentences": sentences[:5]}
