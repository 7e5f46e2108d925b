"""WMT MQM TSV (Google's expert MQM ratings of machine translation).

Columns: ``system``, ``doc``, a segment id (``seg_id``, or ``globalSegId`` /
``docSegId`` in the side-by-side 2023 release), ``rater``, ``source``, ``target``
(the error span marked ``<v>...</v>``), ``category``, ``severity``, and
``comment`` or ``metadata`` (JSON with the rating's ``timestamp`` in ms).
The text is not CSV-quoted: quotes are ordinary characters.

Mapping (one record = one TSV row = one error a rater marked; ``No-error``
rows say the rater found none):
- ``annotations``, two rows per record, same item and rater:
  task ``mqm_category`` (label = category, e.g. ``Accuracy/Mistranslation``)
  and task ``mqm_severity`` (label = severity). ``--task P`` renames them
  ``P_category`` / ``P_severity``. item_id =
  ``mqm-<file stem>:<system>:<doc>:<segment>`` (one system's translation of one
  segment), annotator_id = rater, batch_id = file stem (rater ids are only
  unique within one release), annotated_at from ``metadata.timestamp`` where
  given, comment = comment, meta = {system, doc, seg_id, category, severity (the
  whole error on both rows), span (the marked
  text), span_side (target, or source for source issues), span_start (its
  character offset)}.
  The severity task gets the explicit ordinal schema No-error < Neutral <
  Minor < Major < Critical if it has none (other values, e.g. the 2023
  release's ``HOTW-test`` attention checks, are quarantined as unknown_label);
  categories get a provisional nominal schema.
- ``items``: the translation: prompt = source, response = target, both without
  the ``<v>`` marks, source = system, language = the target language from the file
  name (``..._ende`` -> ``de``), template_id = ``mqm-<stem>:<doc>:<segment>`` (the
  same source segment across systems). Rows of one translation must agree on
  its text; if not, the records are quarantined as ``duplicate_key``.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import IngestError
from ..readers import Prepared, Staged, _header_names, _q, empty_rejects, scan_file

PRIMARY = "annotations"
KINDS = ("annotations", "items")
SEVERITIES = ["No-error", "Neutral", "Minor", "Major", "Critical"]
REQUIRED = ("system", "doc", "rater", "category", "severity")


def stem(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", path.name.split(".")[0])


def target_language(name: str) -> str | None:
    m = re.search(r"_([a-z]{2})([a-z]{2})$", name)
    return m.group(2) if m else None


def prepare(wh, path: Path, *, task: str | None, prefix: str, facts=None) -> Prepared:
    facts = facts or scan_file(path, text=True)
    names = _header_names(facts.head, "\t")
    # the 2023 release ends its header with a "# Documentation: ..." column the rows lack
    while names and names[-1].startswith("#"):
        names.pop()
    lower = {n.lower(): n for n in names}
    seg = next((lower[c] for c in ("seg_id", "globalsegid", "docsegid") if c in lower), None)
    missing = [c for c in REQUIRED if c not in lower] + ([] if seg else ["seg_id"])
    if missing:
        raise IngestError(
            path, f"not an MQM TSV: missing column(s) {', '.join(missing)}; the header has: {', '.join(names)}", line=1
        )
    stage = f"{prefix}__mqm"
    try:
        rejects = wh.stage_csv(stage, path, {n: "VARCHAR" for n in names}, delim="\t", quote="", escape="")
    except Exception as exc:
        raise IngestError(path, f"not readable as TSV: {str(exc).splitlines()[0]}") from None
    if len(rejects) and (rejects["error_type"] == "INVALID ENCODING").any():
        line = int(rejects.loc[rejects["error_type"] == "INVALID ENCODING", "line"].min())
        raise IngestError(path, "not UTF-8 text; re-save the file as UTF-8", line=line)
    staged_rows = int(wh.scalar(f'SELECT count(*) FROM "{stage}"'))
    import pandas as pd

    rej = empty_rejects()
    if len(rejects):
        rej = pd.DataFrame(
            {
                "rec": rejects["line"].astype("int64") - 1,
                "raw": rejects["csv_line"],
                "reason": [
                    "wrong_column_count" if "COLUMNS" in str(t) else "unreadable_row" for t in rejects["error_type"]
                ],
                "column_name": [None] * len(rejects),
            }
        ).drop_duplicates("rec")
    if staged_rows + len(rej) == 0:
        raise IngestError(path, "no data rows after the header", line=2)
    shift = (rej["rec"].sort_values().to_numpy() - range(1, len(rej) + 1)) if len(rej) else []
    records = f"{prefix}__mqm_rec"
    wh.drop_temp(records)
    if len(shift):
        wh.stage_frame(f"{stage}__shift", pd.DataFrame({"t": shift}))
        rec_sql = f's.rowid + 1 + (SELECT count(*) FROM "{stage}__shift" WHERE t <= s.rowid)'
    else:
        rec_sql = "s.rowid + 1"
    raw = " || chr(9) || ".join(f"coalesce(s.{_q(n)}, '')" for n in names)  # the TSV line (no quoting in MQM)
    wh.execute(
        f'CREATE TEMP TABLE "{records}" AS SELECT {rec_sql} AS _rec, {raw} AS _raw, '
        f's.* FROM "{stage}" s ORDER BY s.rowid'
    )
    name = stem(path)
    col = {c: f"r.{_q(lower[c])}" for c in REQUIRED}
    segment = f"r.{_q(seg)}"
    src = f"r.{_q(lower['source'])}" if "source" in lower else "NULL"
    tgt = f"r.{_q(lower['target'])}" if "target" in lower else "NULL"
    comment = f"r.{_q(lower['comment'])}" if "comment" in lower else "NULL"
    if "metadata" in lower:
        md = f"r.{_q(lower['metadata'])}"
        when = (
            f"CASE WHEN json_valid({md}) THEN to_timestamp(TRY_CAST(json_extract_string({md}, '$.timestamp') "
            f"AS DOUBLE) / 1000.0) END"
        )
    else:
        when = "CAST(NULL AS TIMESTAMPTZ)"
    base = f'FROM "{records}" r, (SELECT ? AS stem, ? AS t_cat, ? AS t_sev, ? AS lang) c'
    params = [name, f"{task or 'mqm'}_category", f"{task or 'mqm'}_severity", target_language(name)]
    item = f"'mqm-' || c.stem || ':' || {col['system']} || ':' || {col['doc']} || ':' || {segment}"
    # the marked span: in the target for translation errors, in the source for source issues;
    # its character offset keeps two same-category errors of one rater on one segment apart
    in_tgt = f"strpos(coalesce({tgt}, ''), '<v>') > 0"
    side = f"CASE WHEN {in_tgt} THEN {tgt} ELSE {src} END"
    # both rows of a record carry the whole error (category and severity): two errors on one
    # span that share a severity are still two rows
    meta = (
        f"CAST(json_object('system', {col['system']}, 'doc', {col['doc']}, 'seg_id', {segment}, "
        f"'category', {col['category']}, 'severity', {col['severity']}, "
        f"'span', nullif(regexp_extract({side}, '<v>(.*?)</v>', 1), ''), "
        f"'span_side', CASE WHEN {in_tgt} THEN 'target' WHEN strpos(coalesce({src}, ''), '<v>') > 0 "
        f"THEN 'source' END, "
        f"'span_start', nullif(strpos(coalesce({side}, ''), '<v>'), 0) - 1) AS VARCHAR)"
    )
    ann, items = f"{prefix}__s_annotations", f"{prefix}__s_items"
    wh.drop_temp(ann, items)
    common = (
        f"r._rec, r._raw, {item} AS item_id, {col['rater']} AS annotator_id, {when} AS annotated_at, "
        f"c.stem AS batch_id, {comment} AS comment, {meta} AS meta"
    )
    wh.execute(
        f'CREATE TEMP TABLE "{ann}" AS SELECT * FROM ('
        f"SELECT {common}, c.t_cat AS task, {col['category']} AS label, 0 AS _part {base} "
        f"UNION ALL SELECT {common}, c.t_sev AS task, {col['severity']} AS label, 1 AS _part {base}"
        f") ORDER BY _rec, _part",
        params + params,
    )
    wh.execute(
        f'CREATE TEMP TABLE "{items}" AS SELECT r._rec, r._raw, {item} AS item_id, c.stem AS dataset, '
        f"replace(replace({src}, '<v>', ''), '</v>', '') AS prompt, replace(replace({tgt}, '<v>', ''), '</v>', '') AS response, {col['system']} AS source, "
        f"c.lang AS language, 'mqm-' || c.stem || ':' || {col['doc']} || ':' || {segment} AS template_id, "
        f"CAST(json_object('doc', {col['doc']}, 'seg_id', {segment}) AS VARCHAR) AS meta {base} ORDER BY r._rec",
        params,
    )
    wh.drop_temp(stage, f"{stage}__shift")
    ann_cols = ("item_id", "annotator_id", "task", "label", "annotated_at", "batch_id", "comment", "meta")
    item_cols = ("item_id", "dataset", "prompt", "response", "source", "language", "template_id", "meta")
    staged = [
        Staged(table=ann, kind="annotations", mapping={c: c for c in ann_cols}, rows=2 * staged_rows),
        Staged(table=items, kind="items", mapping={c: c for c in item_cols}, role="secondary", rows=staged_rows),
    ]
    return Prepared(
        kind=PRIMARY,
        fmt="mqm",
        staged=staged,
        rows_in=staged_rows + len(rej),
        rejects=rej,
        label_schemas={params[2]: ("ordinal", SEVERITIES)},
        temp_tables=[ann, items, records],
    )
