"""``reports/index.html``: every report, its runs, status, date, parameters and verdict, newest first.

Every text taken from a manifest (parameters, verdict headlines, error messages,
run ids) is redacted and HTML-escaped (:func:`trainerlab.reportkit.safe_text`):
a manifest is written from user input and data.

Built from the ``manifest.json`` files alone (a run folder without one is
shown as incomplete), so it can be rebuilt at any time and by any process;
the page is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import datetime as _dt
import html
import os
from typing import Any

from ..reportkit import safe_text
from .runner import load_manifest, read_latest, reports_root, warehouse_label

_STATUS_COLORS = {"ok": "#1b7f3b", "failed": "#b42318", "running": "#9a6700", "incomplete": "#57606a"}
_VERDICT_COLORS = {"ok": "#1b7f3b", "warn": "#9a6700", "alert": "#b42318", "info": "#1d4e89"}
# The index keeps two things apart: whether the page rendered, and what its verdict says.
RENDER_LABELS = {"ok": "rendered", "failed": "failed", "running": "running", "incomplete": "incomplete"}
VERDICT_LABELS = {"ok": "OK", "warn": "ATTENTION", "alert": "ALERT", "info": "READOUT"}


def _render_badge(status: str) -> str:
    return _badge(RENDER_LABELS.get(status, status), _STATUS_COLORS.get(status, "#57606a"))


def _verdict_badge(status: str | None) -> str:
    if not status:
        return ""
    return _badge(f"verdict: {VERDICT_LABELS.get(status, status)}", _VERDICT_COLORS.get(status, "#57606a"))


def collect_runs(reports_dir: str | os.PathLike | None = None) -> dict[str, list[dict]]:
    """{report: [run summaries, newest first]} from the manifests under ``reports/``."""
    root = reports_root(reports_dir)
    out: dict[str, list[dict]] = {}
    if not root.is_dir():
        return out
    for report_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        if report_dir.name == "assets" or report_dir.name.startswith("."):
            continue
        latest = read_latest(report_dir)
        runs = []
        for run_dir in report_dir.iterdir():
            if run_dir.is_symlink() or not run_dir.is_dir() or run_dir.name.startswith("."):
                continue
            manifest = load_manifest(run_dir / "manifest.json")
            if manifest is None:
                runs.append(
                    {
                        "run_id": run_dir.name,
                        "status": "incomplete",
                        "started_at": "",
                        "parameters": {},
                        "verdict": None,
                        "error": None,
                        "html": None,
                        "latest": False,
                        "duration_s": None,
                    }
                )
                continue
            html_file = (manifest.get("files") or {}).get("html")
            runs.append(
                {
                    "run_id": manifest.get("run_id", run_dir.name),
                    "status": manifest.get("status", "incomplete"),
                    "started_at": manifest.get("started_at") or "",
                    "duration_s": manifest.get("duration_s"),
                    "parameters": {k: v for k, v in (manifest.get("parameters") or {}).items() if k != "db"},
                    "verdict": manifest.get("verdict"),
                    "error": manifest.get("error"),
                    "html": f"{report_dir.name}/{run_dir.name}/{html_file}" if html_file else None,
                    "latest": run_dir.name == latest,
                    "job": manifest.get("job"),
                    "period": manifest.get("period"),
                    "data_hash": ((manifest.get("data") or {}).get("fingerprint") or {}).get("hash"),
                    "warehouse": _warehouse(manifest),
                    "standalone": bool(manifest.get("standalone")),
                }
            )
        if runs:
            runs.sort(key=lambda r: (r["started_at"], r["run_id"]), reverse=True)
            out[report_dir.name] = runs
    return out


def _warehouse(manifest: dict) -> str | None:
    db = (manifest.get("data") or {}).get("db")
    return warehouse_label(db) if db else None


def _data_line(run: dict) -> str:
    """Which warehouse a run read: path and data fingerprint."""
    return (
        f'<div class="meta">warehouse {safe_text(run.get("warehouse") or "–")} &middot; '
        f"data {safe_text(run.get('data_hash') or '–')}</div>"
    )


def _date(value: str) -> str:
    return safe_text(str(value)[:16].replace("T", " ") + " UTC") if value else "–"


def _params(params: dict) -> str:
    return ", ".join(f"{k}={v!r}" if v == "" else f"{k}={v}" for k, v in params.items()) or "defaults"


def _badge(text: str, color: str) -> str:
    return f'<span class="badge" style="border-color:{color};color:{color}">{safe_text(text)}</span>'


def _summary(run: dict) -> str:
    if run["status"] == "ok" and run.get("verdict"):
        return safe_text(run["verdict"].get("headline", ""))
    if run.get("error"):
        return '<span class="err">' + safe_text(run["error"].get("message", "failed")) + "</span>"
    return ""


def render_index(runs_by_report: dict[str, list[dict]], generated: _dt.datetime | None = None) -> str:
    generated = generated or _dt.datetime.now(_dt.UTC)
    order = sorted(runs_by_report, key=lambda name: runs_by_report[name][0]["started_at"], reverse=True)
    blocks = []
    for name in order:
        runs = runs_by_report[name]
        newest = runs[0]
        latest = next((r for r in runs if r["latest"]), None)
        head_link = (
            f'<a href="{html.escape(name)}/latest/report.html">{html.escape(name)}</a>' if latest else html.escape(name)
        )
        verdict = (latest or {}).get("verdict") or {}
        vstatus = verdict.get("status")
        lines = [
            f'<section class="report" id="{html.escape(name)}"><h2>{head_link} '
            + _render_badge(newest["status"])
            + (" " + _verdict_badge(vstatus) if vstatus else "")
            + "</h2>"
        ]
        if latest:
            lines.append(f'<p class="headline">{safe_text(verdict.get("headline", ""))}</p>')
            lines.append(
                f'<p class="meta">last good run {safe_text(latest["run_id"])}, {_date(latest["started_at"])}'
                f" &middot; warehouse {safe_text(latest.get('warehouse') or '–')}"
                f" &middot; data {safe_text(latest.get('data_hash') or '–')}</p>"
            )
        else:
            lines.append('<p class="meta">no successful run yet</p>')
        if newest["status"] == "failed" and newest.get("error"):
            lines.append(f'<p class="err">newest run failed: {safe_text(newest["error"].get("message", ""))}</p>')
        rows = []
        for run in runs:
            link = (
                f'<a href="{html.escape(run["html"])}">{safe_text(run["run_id"])}</a>'
                if run["html"]
                else safe_text(run["run_id"])
            )
            dur = f"{run['duration_s']:.1f} s" if isinstance(run.get("duration_s"), (int, float)) else "–"
            rows.append(
                f"<tr><td>{link}{' <em>(latest)</em>' if run['latest'] else ''}</td>"
                f"<td>{_render_badge(run['status'])}</td>"
                f"<td>{_verdict_badge((run.get('verdict') or {}).get('status')) or '–'}</td>"
                f'<td>{_date(run["started_at"])}</td><td class="num">{dur}</td>'
                f"<td>{safe_text(_params(run['parameters']))}{_data_line(run)}</td><td>{_summary(run)}</td></tr>"
            )
        lines.append(
            f"<details{' open' if len(runs) <= 5 else ''}><summary>{len(runs)} run{'s' if len(runs) != 1 else ''}"
            "</summary><table><thead><tr><th>run</th><th>render</th><th>verdict</th><th>started</th><th>duration</th>"
            "<th>parameters</th><th>verdict / error</th></tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table></details></section>"
        )
        blocks.append("\n".join(lines))
    body = "\n".join(blocks) or "<p>No reports rendered yet: run <code>trainerlab report --all</code>.</p>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>trainerlab reports</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color:#1f2328; margin:0; }}
header {{ background:#f6f8fa; border-bottom:1px solid #d0d7de; padding:14px 24px; }}
header h1 {{ margin:0; font-size:22px; }} header p {{ margin:4px 0 0 0; color:#57606a; font-size:13px; }}
main {{ max-width:1180px; margin:0 auto; padding:8px 24px 40px 24px; }}
section.report {{ border-bottom:1px solid #eaeef2; padding:6px 0 14px 0; }}
h2 {{ font-size:19px; margin:16px 0 4px 0; }} h2 a {{ color:#0969da; text-decoration:none; }}
.headline {{ font-size:15px; margin:4px 0; }} .meta {{ color:#57606a; font-size:12px; margin:2px 0 6px 0; }}
.badge {{ display:inline-block; border:1px solid; border-radius:10px; padding:0 8px; font-size:11px; font-weight:600;
          vertical-align:middle; text-transform:uppercase; letter-spacing:.03em; }}
.err {{ color:#b42318; }}
table {{ border-collapse:collapse; font-size:13px; margin-top:6px; width:100%; }}
th {{ text-align:left; background:#f6f8fa; border-bottom:2px solid #d0d7de; padding:4px 8px; }}
td {{ border-bottom:1px solid #eaeef2; padding:4px 8px; vertical-align:top; }} td.num {{ text-align:right; }}
summary {{ cursor:pointer; color:#57606a; font-size:13px; }}
</style></head><body>
<header><h1>trainerlab reports</h1><p>{len(order)} report{"s" if len(order) != 1 else ""}, newest first
&middot; index built {_date(generated.isoformat())}</p></header>
<main>
{body}
</main></body></html>
"""


def publish(reports_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Rebuild ``reports/index.html``; return a summary (reports, runs, failed, path)."""
    root = reports_root(reports_dir)
    root.mkdir(parents=True, exist_ok=True)
    runs = collect_runs(root)
    page = render_index(runs)
    target = root / "index.html"
    tmp = root / f".index.html.{os.getpid()}.tmp"
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    return {
        "index": str(target),
        "reports": len(runs),
        "runs": sum(len(r) for r in runs.values()),
        "failed": sorted(name for name, r in runs.items() if r[0]["status"] == "failed"),
        "latest": {name: next((x["run_id"] for x in r if x["latest"]), None) for name, r in runs.items()},
    }
