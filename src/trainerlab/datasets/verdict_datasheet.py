"""The datasheet of a snapshot: the seven sections of Gebru et al., *Datasheets for
Datasets* (CACM 2021), as Markdown, filled from the manifest and the rows, every
unanswerable question marked as a gap."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..dataqa.duplicates import find_duplicates
from ..dataqa.pii_leakage import pii_summary
from ..pii import redact


def _gap(what: str, how: str = "") -> str:
    return f"**Gap:** {what}" + (f" ({how})." if how else ".")


def datasheet(manifest: dict, frame: pd.DataFrame, text_columns: Sequence[str] = (), wh=None) -> str:
    """A Markdown datasheet with the seven sections of *Datasheets for Datasets*.

    Filled from the manifest, the rows (counts, columns, missing values, languages,
    duplicates, PII) and the warehouse (ingest sources); every question the data
    cannot answer is marked **Gap**. Example texts are never shown.
    """
    n = len(frame)
    sid = manifest["snapshot_id"]
    lines = [
        f"# Datasheet: {sid}",
        "",
        f"Snapshot `{sid}` of dataset `{manifest['name']}`, {n:,} rows, content hash "
        f"`{manifest['content_hash'][:16]}`, created {manifest['created_at']} by {manifest.get('created_by')}. "
        "Sections follow Gebru et al., *Datasheets for Datasets* (CACM 64(12), 2021); "
        "answers come from the warehouse, and what it cannot know is marked **Gap**.",
        "",
    ]
    # Motivation
    lines += [
        "## Motivation",
        "",
        f"- **For what purpose was the dataset created?** {manifest.get('purpose') or _gap('no purpose recorded', 'snapshot --purpose')}",
        f"- **Who created it?** {manifest.get('owner') or manifest.get('created_by') or _gap('no owner recorded', '--owner')}",
        f"- **Who funded it?** {_gap('not recorded by trainerlab')}",
        "",
    ]
    # Composition
    comp = [
        "## Composition",
        "",
        "- **What do the instances represent?** One row per record of the query below; columns: "
        + ", ".join(f"`{c['name']}` ({c['dtype']})" for c in manifest["schema"])
        + ".",
        f"- **How many instances are there?** {n:,}.",
    ]
    missing = {c: int(frame[c].isna().sum()) for c in frame.columns if frame[c].isna().any()}
    comp.append(
        "- **Is any information missing from individual instances?** "
        + (
            "; ".join(f"`{c}`: {k:,} missing ({k / n:.1%})" for c, k in missing.items())
            if missing
            else "No missing values."
        )
    )
    for col, label in (
        ("language", "Languages"),
        ("dataset", "Source datasets"),
        ("intent", "Intents"),
        ("source", "Sources"),
    ):
        if col in frame.columns and n:
            counts = frame[col].astype(str).value_counts()
            top = ", ".join(f"{k} {v / n:.0%}" for k, v in counts.head(8).items())
            comp.append(f"- **{label}:** {top}{' and ' + str(len(counts) - 8) + ' more' if len(counts) > 8 else ''}.")
    for col in text_columns:
        if col not in frame.columns:
            continue
        texts = frame[col].tolist()
        dup = find_duplicates(texts, threshold=0.7, near=n <= 200000)
        s = dup.summary
        pii = pii_summary(frame, [col])
        found = ", ".join(f"{k} {v}" for k, v in pii["counts"].items() if v) or "none found"
        comp.append(
            f"- **Redundancy in `{col}`:** {s['exact_duplicates']:,} exact duplicates"
            + (
                f" and {s['near_duplicates']:,} further near duplicates (MinHash, Jaccard >= 0.7)"
                if s.get("near_duplicates") is not None
                else ""
            )
            + "."
        )
        comp.append(
            f"- **Does `{col}` contain personal or confidential data?** "
            f"{pii['records_with_pii']:,} rows ({pii['leakage']['estimate']:.1f} per 1,000) with detected PII: "
            f"{found}. Detection covers e-mails, phones, cards, IBANs, IPs, SSNs, API keys and simple "
            "street addresses; names are not detected."
        )
    comp += [
        f"- **Is it a sample of a larger set?** {_gap('the query says what was selected; whether that is representative is not recorded')}",
        f"- **Labels or targets:** {_gap('not described', 'say which columns are labels in --purpose')}"
        if not any(c in frame.columns for c in ("label", "gold_label", "winner", "passed", "chosen"))
        else "- **Labels or targets:** columns "
        + ", ".join(f"`{c}`" for c in ("label", "gold_label", "winner", "passed", "chosen") if c in frame.columns)
        + ".",
        "",
    ]
    lines += comp
    # Collection
    src = manifest["parents"]["sources"]
    coll = ["## Collection process", ""]
    if src:
        coll.append("- **How was the data acquired?** Ingested from these files (ingest_log):")
        coll += [
            f"  - `{s.get('source_file', s['batch_id'])}` (sha256 `{str(s.get('sha256', ''))[:12]}`, "
            f"{s.get('kind', '?')}, ingested {s.get('ingested_at', '?')})"
            for s in src[:20]
        ]
        if len(src) > 20:
            coll.append(f"  - and {len(src) - 20} more batches (manifest.json)")
    else:
        coll.append(
            f"- **How was the data acquired?** {_gap('no ingest batch is linked to these rows (generated or demo data?)')}"
        )
    time_cols = [
        c for c in ("created_at", "annotated_at", "evaluated_at", "judged_at", "opened_at") if c in frame.columns
    ]
    if time_cols and n:
        c = time_cols[0]
        ts = pd.to_datetime(frame[c], errors="coerce")
        if ts.notna().any():
            coll.append(f"- **Over what timeframe?** `{c}` from {ts.min():%Y-%m-%d} to {ts.max():%Y-%m-%d}.")
    coll += [
        f"- **Consent:** {manifest.get('consent') or _gap('no consent tag', 'snapshot --consent')}",
        f"- **Who was involved in collection and how were they compensated?** {_gap('not recorded by trainerlab')}",
        f"- **Was an ethical review conducted?** {_gap('not recorded by trainerlab')}",
        "",
    ]
    lines += coll
    # Preprocessing
    lines += [
        "## Preprocessing, cleaning, labeling",
        "",
        "- **Transform (the query that made this snapshot):**",
        "",
        "```sql",
        manifest["transform"]["sql"].strip(),
        "```",
        "",
        "- **Parent snapshots:** "
        + (
            ", ".join(f"`{p['snapshot_id']}`" for p in manifest["parents"]["snapshots"])
            or "none (selected from warehouse tables: "
            + (", ".join(f"`{t}`" for t in manifest["parents"]["tables"]) or "none")
            + ")"
        )
        + ".",
        "- **Is the raw data saved?** The warehouse keeps the ingested rows; `ingest_log` keeps each source file's sha256.",
        "",
    ]
    # Uses
    lines += [
        "## Uses",
        "",
        f"- **Intended uses:** {manifest.get('purpose') or _gap('no purpose recorded', '--purpose')}",
        "- **Exports:** `trainerlab dataset export " + manifest["name"] + " --format sft|preference` (chat JSONL or "
        "preference pairs, split so near-duplicate prompts stay on one side, PII refused unless a reason is logged).",
        f"- **Uses to avoid:** {_gap('not recorded')}",
        "",
    ]
    # Distribution
    lines += [
        "## Distribution",
        "",
        f"- **License / terms of use:** {manifest.get('license') or _gap('no license recorded', '--license; bundled real datasets carry theirs in data/external/SOURCES.md')}",
        f"- **To whom is it distributed?** {_gap('not recorded')}",
        "",
    ]
    # Maintenance
    lines += [
        "## Maintenance",
        "",
        f"- **Owner / contact:** {manifest.get('owner') or _gap('no owner recorded', '--owner')}",
        f"- **Versioning:** `{sid}`; a changed query result under the same name becomes the next version; "
        "the content hash identifies the rows.",
        "- **Retention:** "
        + (
            f"{manifest['retention_days']} days, expires {manifest['expires_at']}"
            if manifest.get("retention_days")
            else _gap("no retention period", "--retention-days")
        ),
        "- **Lineage:** `trainerlab dataset lineage " + manifest["name"] + "`.",
        "",
    ]
    return redact_lines("\n".join(lines)) + "\n"


def redact_lines(text: str) -> str:
    """Redact a Markdown document line by line, leaving fenced SQL alone (it may hold literals)."""
    out, fenced = [], False
    for line in text.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
            out.append(line)
        else:
            out.append(line if fenced else redact(line))
    return "\n".join(out)
