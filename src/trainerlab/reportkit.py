"""Helpers for report notebooks: offline plotly, the verdict box, tables, figures, sections.

A report notebook (``notebooks/NAME.ipynb``) is a readout, not a program. It
calls :func:`setup` once, opens the warehouse with :func:`open_warehouse`,
calls library functions, and shows their results with the helpers here:

>>> from trainerlab import reportkit as rk          # doctest: +SKIP
>>> rk.setup()                                       # doctest: +SKIP
>>> rk.verdict(["...", "...", "..."], status="ok")   # doctest: +SKIP
>>> rk.section("Volumes", "Items labelled per week.")  # doctest: +SKIP
>>> rk.table(frame, formats={"share": "pct"})        # doctest: +SKIP
>>> rk.figure(fig)                                   # doctest: +SKIP

Conventions the report runner (:mod:`trainerlab.reports`) relies on:

* :func:`verdict` is the first output of every report. Besides the visible box
  it emits a machine-readable copy (mimetype :data:`VERDICT_MIME`) that the
  runner copies into ``manifest.json``; ``trainerlab publish`` shows its
  headline (the first sentence) in ``reports/index.html``.
* Figures are emitted as an HTML ``div`` plus a ``Plotly.newPlot`` call without
  plotly.js itself; the runner links one shared copy from
  ``reports/assets/`` into each page, so pages stay small and work offline.
* Every string cell and header of a table, every sentence of a verdict or note, and
  every reader-visible string of a figure (trace names, texts, hover texts, category
  values, tick texts, titles, legends, annotations) passes through
  :func:`trainerlab.pii.redact` (reports never show raw PII) and is HTML-escaped
  (:func:`safe_text`, :func:`plotly_text`): text from data is never page structure.
"""

from __future__ import annotations

import html as _html
import json
import logging
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .pii import redact

__all__ = [
    "VERDICT_MIME",
    "VERDICT_STATUSES",
    "setup",
    "open_warehouse",
    "verdict",
    "section",
    "note",
    "kpis",
    "table",
    "figure",
    "line_ci",
    "bar_ci",
    "redact",
    "redact_frame",
    "redact_figure",
    "safe_text",
    "plotly_text",
    "no_data",
    "HEADERS",
    "header",
    "fit_labels",
]

VERDICT_MIME = "application/vnd.trainerlab.verdict+json"
# ok: nothing to do; warn: watch or act soon; alert: act now; info: descriptive report.
VERDICT_STATUSES = ("ok", "warn", "alert", "info")
_STATUS_STYLE = {
    "ok": ("#1b7f3b", "#eaf6ee", "No action needed"),
    "warn": ("#9a6700", "#fff8e1", "Watch"),
    "alert": ("#b42318", "#fdecea", "Action needed"),
    "info": ("#1d4e89", "#eaf1fb", "Readout"),
}
PLOTLY_MIME = "application/vnd.plotly.v1+json"
_FIGURE_COUNTER = [0]
_TABLE_COUNTER = [0]  # element ids count up per run: two runs on the same data give identical HTML
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?\Z")
_ISO_WEEK = re.compile(r"^\d{4}-W\d{2}\Z")


# --------------------------------------------------------------------------- text on a page
def safe_text(value: Any) -> str:
    """``value`` as text that is safe inside HTML: redacted by :func:`redact`, then HTML-escaped.

    A string that is exactly an ISO date, datetime or week is kept as it is (see
    :func:`redact_frame`).

    The one way a string from data or from a user reaches a page: table cells and
    headers, captions, verdicts, notes, KPI labels, the page header and the index.
    """
    return _html.escape(_redact_cell("" if value is None else str(value)), quote=True)


# plotly.js draws its texts as SVG and understands a few attribute-free formatting tags;
# everything else in a string (a data value's <img onerror=...>, <a href=...>) is escaped and
# shown as the characters it is (plotly turns &lt; back into a visible '<').
_PLOTLY_TAG = re.compile(r"<(?:/?(?:b|i|em|sup|sub|extra|s|u)|br\s*/?)>", re.I)


def plotly_text(value: str) -> str:
    """A figure string, redacted, with every character that could form markup escaped.

    Keeps only plotly's attribute-free formatting tags (``<br>``, ``<b>``, ``<i>``,
    ``<em>``, ``<sup>``, ``<sub>``, ``<s>``, ``<u>``, ``<extra>``) so hover templates
    written by the library still format; ``%{x}`` placeholders are untouched.
    """
    text = _redact_cell(value)
    if not isinstance(text, str):
        return text
    out, pos = [], 0
    for match in _PLOTLY_TAG.finditer(text):
        out.append(_html.escape(text[pos : match.start()], quote=False))
        out.append(match.group(0))
        pos = match.end()
    out.append(_html.escape(text[pos:], quote=False))
    return "".join(out)


# --------------------------------------------------------------------------- setup
def setup(*, quiet: bool = True) -> None:
    """Prepare a report kernel: offline plotly renderer, no warnings or progress-bar noise.

    Registers the ``trainerlab`` plotly renderer (so ``fig.show()`` works like
    :func:`figure`), silences warnings, tqdm progress bars and numba/umap/hdbscan
    chatter, and sets pandas display options. Call it once, in the first code
    cell after the parameters.
    """
    import plotly.io as pio

    pio.renderers["trainerlab"] = _OfflineRenderer()
    pio.renderers.default = "trainerlab"
    pio.templates.default = "plotly_white"
    _FIGURE_COUNTER[0] = 0
    _TABLE_COUNTER[0] = 0
    if quiet:
        warnings.filterwarnings("ignore")
        # tqdm >= 4.66 honours TQDM_DISABLE; older versions get a patched default below.
        os.environ["TQDM_DISABLE"] = "1"
        os.environ.setdefault("NUMBA_DISABLE_PERFORMANCE_WARNINGS", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        for name in (
            "numba",
            "umap",
            "hdbscan",
            "bertopic",
            "BERTopic",
            "pynndescent",
            "matplotlib",
            "py.warnings",
            "papermill",
            "traitlets",
            "duckdb",
        ):
            logging.getLogger(name).setLevel(logging.ERROR)
        logging.captureWarnings(True)
        try:
            import tqdm
            import tqdm.auto

            for cls in {tqdm.tqdm, getattr(tqdm.auto, "tqdm", tqdm.tqdm)}:
                if not getattr(cls, "_trainerlab_quiet", False):
                    original = cls.__init__

                    def _quiet_init(self, *args, __orig=original, **kwargs):
                        kwargs["disable"] = True
                        __orig(self, *args, **kwargs)

                    cls.__init__ = _quiet_init
                    cls._trainerlab_quiet = True
        except ImportError:  # pragma: no cover - tqdm is a dependency
            pass
    _redact_bare_frames()
    import sys

    pd = sys.modules.get("pandas")  # text display options only; importing pandas just for them costs seconds
    if pd is not None:
        pd.set_option("display.max_rows", 30)
        pd.set_option("display.max_columns", 30)
        pd.set_option("display.width", 160)


def _frame_html(frame) -> str:
    """A DataFrame or Series left bare at the end of a cell: redacted (cells and labels), then escaped by pandas."""
    if hasattr(frame, "to_frame") and not hasattr(frame, "columns"):
        frame = frame.to_frame()
    shown = redact_frame(frame.head(30))
    shown = shown.rename(
        columns=lambda c: _redact_cell(str(c)), index=lambda i: _redact_cell(i) if isinstance(i, str) else i
    )
    shown.columns.names = [None if n is None else _redact_cell(str(n)) for n in shown.columns.names]
    shown.index.names = [None if n is None else _redact_cell(str(n)) for n in shown.index.names]
    note = f"<p>first 30 of {len(frame):,} rows</p>" if len(frame) > 30 else ""
    return shown.to_html(escape=True, border=0) + note


def _redact_bare_frames() -> None:
    """In a kernel, a DataFrame or Series shown without :func:`table` is redacted too (pandas' own HTML is not)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - outside a kernel
        return
    shell = get_ipython()
    if shell is None:
        return
    html = shell.display_formatter.formatters["text/html"]
    plain = shell.display_formatter.formatters["text/plain"]
    # By name, so pandas need not be imported here; pandas 3 reports its classes' module as "pandas".
    for module, name in (
        ("pandas", "DataFrame"),
        ("pandas", "Series"),
        ("pandas.core.frame", "DataFrame"),
        ("pandas.core.series", "Series"),
    ):
        html.for_type_by_name(module, name, _frame_html)
        plain.for_type_by_name(
            module,
            name,
            lambda obj, p, cycle: p.text(
                redact_frame(obj.to_frame() if not hasattr(obj, "columns") else obj)
                .head(30)
                .rename(columns=lambda c: _redact_cell(str(c)))
                .to_string()
            ),
        )


def open_warehouse(db: str | os.PathLike | None = None):
    """The warehouse opened read-only (reports never write), resolving ``db`` like the CLI."""
    from .warehouse import connect

    return connect(db or None, read_only=True)


# --------------------------------------------------------------------------- display
def _display(bundle: dict, metadata: dict | None = None) -> None:
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - outside a kernel
        print(bundle.get("text/plain", ""))
        return
    display(bundle, raw=True, metadata=metadata or {})


def _as_sentences(sentences: str | Sequence[str]) -> list[str]:
    if isinstance(sentences, str):
        parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", sentences.strip())
    else:
        parts = list(sentences)
    out = [str(s).strip() for s in parts if str(s).strip()]
    return out


def verdict(sentences: str | Sequence[str], status: str = "info", *, headline: str | None = None) -> None:
    """Show the verdict box (3 to 5 plain sentences) and record it for the index.

    Parameters
    ----------
    sentences : list of str, or str
        What changed, whether it is statistically real, and what to do, in 3
        to 5 sentences (a string is split on sentence ends).
    status : {"ok", "warn", "alert", "info"}
        ``ok`` nothing to do, ``warn`` watch, ``alert`` act now, ``info`` a
        descriptive readout with no decision attached.
    headline : str, optional
        The one line shown in ``reports/index.html``; default the first sentence.

    The record ``{"status", "headline", "sentences"}`` travels inside the
    executed notebook (mimetype :data:`VERDICT_MIME`); the runner copies it
    into ``manifest.json``. Nothing is returned, so the cell shows only the box.

    Raises
    ------
    ValueError
        Unknown status, or fewer than 3 / more than 5 sentences: the run fails
        closed rather than publishing a report without a readable verdict.
    """
    if status not in VERDICT_STATUSES:
        raise ValueError(f"verdict status must be one of {VERDICT_STATUSES}, got {status!r}")
    items = [redact(s) for s in _as_sentences(sentences)]
    if not 3 <= len(items) <= 5:
        raise ValueError(f"a verdict has 3 to 5 sentences (what changed, is it real, what to do); got {len(items)}")
    line = redact(headline).strip() if headline else items[0]
    color, background, label = _STATUS_STYLE[status]
    body = " ".join(_html.escape(s) for s in items)
    box = (
        f'<div class="tl-verdict tl-verdict-{status}" role="note" aria-label="verdict" '
        f'style="border-left:6px solid {color};background:{background};padding:14px 18px;margin:6px 0 18px 0;'
        f'border-radius:4px;font-size:15px;line-height:1.55;max-width:60em">'
        f'<div style="font-weight:700;color:{color};text-transform:uppercase;letter-spacing:.04em;'
        f'font-size:12px;margin-bottom:6px">Verdict &middot; {label}</div>'
        f"<div>{body}</div></div>"
    )
    record = {"status": status, "headline": line, "sentences": items}
    _display({"text/html": box, "text/plain": f"VERDICT ({status}): " + " ".join(items), VERDICT_MIME: record})


def section(title: str, intro: str | None = None) -> None:
    """A section heading with an optional one-sentence introduction."""
    html = f'<h2 class="tl-section" style="margin-top:1.6em">{_html.escape(redact(title))}</h2>'
    if intro:
        html += f'<p class="tl-intro" style="max-width:60em">{_html.escape(redact(intro))}</p>'
    _display({"text/html": html, "text/plain": f"== {title} ==" + (f"\n{intro}" if intro else "")})


def note(text: str) -> None:
    """One paragraph of interpretation (redacted)."""
    clean = redact(text)
    _display({"text/html": f'<p class="tl-note" style="max-width:60em">{_html.escape(clean)}</p>', "text/plain": clean})


def no_data(reason: str) -> None:
    """The one line that stands in place of a section's table or figure when there is nothing to show.

    ``reason`` says what is missing and, where it helps, what would fill it
    ("no gold labels for task sentiment: ingest a gold file to see accuracy").
    Pages show it as "No data: <reason>" (class ``tl-nodata``), so a reader
    never meets an empty table or a blank chart.
    """
    clean = redact(str(reason)).strip().rstrip(".")
    _display(
        {
            "text/html": f'<p class="tl-nodata" style="max-width:60em;color:#57606a;font-style:italic">'
            f"No data: {_html.escape(clean)}.</p>",
            "text/plain": f"No data: {clean}.",
        }
    )


def kpis(values: Mapping[str, Any], *, formats: Mapping[str, str] | None = None) -> None:
    """A row of headline numbers, e.g. ``{"items": 4200, "raters": 12}``."""
    formats = dict(formats or {})
    cells = []
    for name, value in values.items():
        shown = _format_value(value, formats.get(name))
        cells.append(
            '<div style="display:inline-block;min-width:9em;margin:0 14px 10px 0;padding:8px 12px;'
            'border:1px solid #d0d7de;border-radius:4px">'
            f'<div style="font-size:22px;font-weight:600">{safe_text(shown)}</div>'
            f'<div style="font-size:12px;color:#57606a">{safe_text(name)}</div></div>'
        )
    _display(
        {
            "text/html": '<div class="tl-kpis">' + "".join(cells) + "</div>",
            "text/plain": ", ".join(
                f"{redact(str(k))}: {redact(_format_value(v, formats.get(k)))}" for k, v in values.items()
            ),
        }
    )


# --------------------------------------------------------------------------- tables
_NAMED_FORMATS = {
    "int": "{:,.0f}",
    "float": "{:,.3f}",
    "float1": "{:,.1f}",
    "float2": "{:,.2f}",
    "pct": "{:.1%}",
    "pct0": "{:.0%}",
    "pvalue": "pvalue",
    "points": "points",
    "seconds": "{:,.1f} s",
    "text": "{}",
}


def _format_value(value: Any, fmt: str | None = None) -> str:
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return "–"
    except ImportError:  # pragma: no cover
        pass
    spec = _NAMED_FORMATS.get(fmt, fmt) if fmt else None
    if spec == "points":  # a difference of two shares, in percentage points (never a bare fraction beside percents)
        return f"{100 * float(value):+.1f} pts"
    if spec == "pvalue":
        v = float(value)
        return "< 0.001" if v < 0.001 else f"{v:.3f}"
    if spec:
        try:
            return spec.format(value)
        except (ValueError, TypeError):
            return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
        return f"{int(value):,}"
    if isinstance(value, float) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "f"):
        v = float(value)
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.3g}"
        return f"{v:,.3f}"
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:10] if text.endswith("T00:00:00") else text.replace("T", " ")
    return str(value)


def _redact_cell(value: Any) -> Any:
    if isinstance(value, str) and not (_ISO_DATE.match(value) or _ISO_WEEK.match(value)):
        return redact(value)
    return value


def redact_frame(frame, columns: Iterable[str] | None = None):
    """A copy of ``frame`` with the string cells of ``columns`` (default: all text columns) redacted.

    Cells that are exactly an ISO date, datetime or week (``2026-06-01``,
    ``2026-W23``) are kept: they are not PII, and the phone pattern would
    otherwise eat them.
    """
    out = frame.copy()
    cols = (
        list(columns)
        if columns is not None
        else [c for c in out.columns if out[c].dtype == object or str(out[c].dtype).startswith(("string", "str"))]
    )
    for col in cols:
        out[col] = out[col].map(_redact_cell)
    return out


# Plain-language column headers for pages, shared by every report (raw names stay in the data, JSON and CSV).
# A column not listed here shows its raw name with underscores as spaces. Terms are explained in docs/glossary.md.
HEADERS: dict[str, str] = {
    "n": "n",
    "n_items": "items",
    "n_units": "items",
    "n_ratings": "ratings",
    "n_raters": "raters",
    "n_labels": "labels",
    "n_disputes": "disputed items",
    "n_reference": "reference items",
    "estimate": "estimate",
    "ci_low": "95% CI low",
    "ci_high": "95% CI high",
    "se": "standard error",
    "p_value": "p-value",
    "p_adjusted": "adjusted p-value",
    "pa": "observed agreement",
    "pe": "chance agreement",
    "se_gwet": "standard error (Gwet)",
    "reason": "why undefined",
    "method": "method",
    "quality": "quality (Dawid-Skene)",
    "quality_ci_low": "quality 95% CI low",
    "quality_ci_high": "quality 95% CI high",
    "accuracy": "accuracy",
    "gold_n": "gold items",
    "gold_accuracy": "gold accuracy",
    "gold_ci_low": "gold 95% CI low",
    "gold_ci_high": "gold 95% CI high",
    "agreement_with_consensus": "agreement with the majority",
    "flag": "flag",
    "kappa": "category kappa",
    "kappa_ci_low": "kappa 95% CI low",
    "kappa_ci_high": "kappa 95% CI high",
    "prevalence": "share of ratings",
    "specific_agreement": "specific agreement",
    "specific_agreement_ci_low": "specific agreement 95% CI low",
    "specific_agreement_ci_high": "specific agreement 95% CI high",
    "alpha_all": "alpha, all raters",
    "alpha_without": "alpha without the rater",
    "delta": "change in alpha",
    "per_100": "disputes per 100 items",
    "label_a": "label A",
    "label_b": "label B",
    "guideline_version": "guideline version",
    "model_label": "inferred label",
    "gold_label": "gold label",
    "dispute": "dispute (0-1)",
    "baseline_mean": "baseline",
    "candidate_mean": "candidate",
    "difference": "difference",
    "direction": "direction",
    "pass_rate": "pass rate",
    "model_version": "model version",
    "run_id": "eval run",
    "audit_pass_rate": "audit pass rate",
    "audit_ci_low": "audit 95% CI low",
    "audit_ci_high": "audit 95% CI high",
    "audit_status": "audit status",
    "rework_rate": "rework rate",
    "alpha_mean": "mean alpha",
    "turnaround_median_h": "median turnaround (h)",
    "cost_per_accepted_label": "cost per accepted label",
    "gold_trend": "gold trend",
    "p_adj": "adjusted p-value",
    "psi": "population stability index",
    "bucket": "period",
}


def header(column: str) -> str:
    """The page header of a raw column name (:data:`HEADERS`, else underscores as spaces)."""
    column = str(column)
    return HEADERS.get(column, column.replace("_", " "))


def table(
    frame,
    *,
    caption: str | None = None,
    formats: Mapping[str, str] | None = None,
    max_rows: int = 25,
    columns: Sequence[str] | None = None,
    rename: Mapping[str, str] | None = None,
    highlight: str | None = None,
    show_index: bool = False,
    empty: str | None = None,
) -> None:
    """Show a DataFrame as a styled, readable table.

    Parameters
    ----------
    frame : DataFrame
        Tidy results (estimate, ci_low, ci_high, n, method, ...).
    caption : str, optional
        One line above the table saying what it shows.
    formats : mapping column -> format
        A named format (``int``, ``float``, ``float1``, ``float2``, ``pct``,
        ``pct0``, ``pvalue``, ``seconds``, ``text``) or a ``str.format`` spec
        such as ``"{:.2f}"``. Unlisted numeric columns get thousands separators
        (integers) or 3 decimals (floats); NaN shows as an en dash.
    max_rows : int
        Row cap (default 25): longer frames show their first ``max_rows`` rows
        and a note "first 25 of 2,000 rows". Sort before calling.
    columns, rename : optional
        Columns to keep (in order) and display names.
    highlight : str, optional
        A boolean column; rows where it is true are shaded (the column is hidden).
    show_index : bool
        Show the DataFrame index (off by default).

    empty : str, optional
        The reason shown (as :func:`no_data`) when ``frame`` has no rows: a page
        never shows an empty table. Default: a generic "no rows" reason.

    Every text cell passes through :func:`trainerlab.pii.redact`. Column
    headers are shown in plain language (:func:`header`) unless ``rename`` names
    them.
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    total = len(frame)
    if total == 0:
        no_data(empty or (f"{caption.rstrip('.')}: no rows" if caption else "no rows to show"))
        return
    shown = frame.head(max_rows) if max_rows and total > max_rows else frame
    flags = None
    if highlight is not None:
        flags = shown[highlight].fillna(False).astype(bool).tolist()
        shown = shown.drop(columns=[highlight])
    if columns is not None:
        shown = shown[list(columns)]
    shown = redact_frame(shown)
    formats = dict(formats or {})
    given = dict(rename or {})
    rename = {c: given.get(c) or header(c) for c in shown.columns}
    if len(set(rename.values())) < len(rename):  # two raw names with one plain header: keep the raw names
        rename = {c: given.get(c, c) for c in shown.columns}
    shown = shown.rename(columns=rename)
    formats = {rename.get(k, k): v for k, v in formats.items()}
    numeric_cols = [
        c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c]) and not pd.api.types.is_bool_dtype(shown[c])
    ]
    # Cells are escaped after formatting: cell text is data (prompts may hold markup), never page structure.
    # Headers too: a column built from data values (a pivot by vendor) is data, never page structure.
    shown.columns = shown.columns.set_names([None if n is None else safe_text(n) for n in shown.columns.names])
    shown.index = shown.index.set_names([None if n is None else safe_text(n) for n in shown.index.names])
    styler = shown.style.format(lambda v: _html.escape(_format_value(v)), na_rep="–")
    for col in shown.columns:
        if col in formats:
            styler = styler.format(
                lambda v, f=formats[col]: _html.escape(_format_value(v, f)), subset=[col], na_rep="–"
            )
    styler = styler.format_index(safe_text, axis=1)
    if show_index:
        styler = styler.format_index(lambda v: safe_text(v if isinstance(v, str) else _format_value(v)), axis=0)
    else:
        styler = styler.hide(axis="index")
    styler = styler.set_table_attributes('class="tl-table"')
    styler = styler.set_table_styles(
        [
            {"selector": "", "props": "border-collapse:collapse;font-size:13px;margin:4px 0 14px 0;"},
            {
                "selector": "th",
                "props": "background:#f6f8fa;border-bottom:2px solid #d0d7de;padding:5px 10px;text-align:left;font-weight:600;",
            },
            {"selector": "td", "props": "border-bottom:1px solid #eaeef2;padding:4px 10px;"},
            {"selector": "tr:nth-child(even) td", "props": "background:#fbfcfd;"},
        ]
    )
    if numeric_cols:
        styler = styler.set_properties(
            subset=numeric_cols, **{"text-align": "right", "font-variant-numeric": "tabular-nums"}
        )
    if flags is not None and any(flags):
        mask = pd.DataFrame(
            {c: ["background:#fff4e5" if f else "" for f in flags] for c in shown.columns}, index=shown.index
        )
        styler = styler.apply(lambda _: mask, axis=None)
    _TABLE_COUNTER[0] += 1
    styler = styler.set_uuid(f"tl{_TABLE_COUNTER[0]}")
    body = styler.to_html()
    head = (
        f'<div class="tl-caption" style="font-weight:600;margin-top:8px">{safe_text(caption)}</div>' if caption else ""
    )
    tail = ""
    if total > len(shown):
        tail = (
            f'<div class="tl-rowcap" style="font-size:12px;color:#57606a">first {len(shown):,} of {total:,} rows</div>'
        )
    if total == 0:
        tail = '<div class="tl-rowcap" style="font-size:12px;color:#57606a">no rows</div>'
    text = shown.rename(columns=lambda c: redact(str(c))).to_string(index=show_index, max_rows=max_rows)
    _display(
        {
            "text/html": f'<div class="tl-table-wrap" style="overflow-x:auto">{head}{body}{tail}</div>',
            "text/plain": text,
        }
    )


# --------------------------------------------------------------------------- figures
def _check_figure(fig) -> None:
    layout = fig.layout
    title = layout.title.text if layout.title is not None else None
    if not title:
        raise ValueError("a report figure needs a title (fig.update_layout(title=...))")
    for name in ("xaxis", "yaxis"):
        axis = getattr(layout, name, None)
        has_cartesian = any(
            getattr(t, "type", "") not in ("pie", "table", "sunburst", "treemap", "indicator", "sankey")
            for t in fig.data
        )
        if has_cartesian and fig.data and axis is not None and not (axis.title and axis.title.text):
            raise ValueError(
                f"a report figure needs axis labels with units: {name} title is empty "
                f"(fig.update_layout({name}_title=...))"
            )


def _redact_strings(value: Any) -> Any:
    """``value`` with every string in it (nested lists, numpy arrays of text) redacted; numbers untouched."""
    if isinstance(value, str):
        return plotly_text(value)
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value:
            return value  # plotly's typed array (base64 numbers): nothing a reader sees as text
        return {k: _redact_strings(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_strings(v) for v in value]
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind in ("O", "U", "S") and hasattr(value, "tolist"):
        return _redact_strings(value.tolist())
    return value


def redact_figure(fig_dict: dict) -> dict:
    """A copy of a plotly figure dict with every string in its data and layout redacted and escaped.

    Each string passes through :func:`plotly_text` (:func:`redact`, then markup
    escaped except plotly's attribute-free formatting tags): trace names, texts,
    hover texts and templates, category values, pie labels, table cells, tick
    texts, titles, legend titles, annotations, and also the strings a reader
    does not see but that travel in the page (``offsetgroup``, ``alignmentgroup``,
    ``customdata``, ``meta``, ids). Every key is covered, not a list of known
    text keys: plotly express copies data values into keys such a list misses.
    Numbers and style strings (colours, modes) pass unchanged (nothing in them
    matches); ISO dates and weeks are kept as they are (the phone pattern would
    eat them). The layout's ``template`` (the theme, no data) is left alone.
    """
    layout = dict(fig_dict.get("layout") or {})
    template = layout.pop("template", None)
    layout = _redact_strings(layout)
    if template is not None:
        layout["template"] = template
    return {
        "data": _redact_strings(list(fig_dict.get("data") or [])),
        "layout": layout,
        **{k: v for k, v in fig_dict.items() if k not in ("data", "layout")},
    }


def _figure_html(fig_dict: dict, div_id: str) -> str:
    import plotly.io as pio

    height = (fig_dict.get("layout") or {}).get("height") or 420
    return pio.to_html(
        fig_dict,
        include_plotlyjs=False,
        full_html=False,
        div_id=div_id,
        default_width="100%",
        default_height=f"{int(height)}px",
        validate=False,
        config={"displaylogo": False, "responsive": True},
    )


def _next_div_id() -> str:
    _FIGURE_COUNTER[0] += 1
    return f"tl-fig-{_FIGURE_COUNTER[0]}"


def _wrap(text: str, width: int) -> str:
    """``text`` broken with ``<br>`` at word boundaries into lines of at most ``width`` characters."""
    if not text or len(text) <= width or "<br>" in text:
        return text
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "<br>".join(lines + [line])


def fit_labels(fig, title_width: int = 80, axis_width: int = 55):
    """Make a figure's labels fit its box: long titles and axis titles wrap, axes make room for tick labels.

    Plotly clips a title wider than the plot and lets long category labels run
    under the axis title; this wraps titles (``<br>``), turns on ``automargin``
    for every cartesian axis and adds top margin for a wrapped title. Returns ``fig``.
    """
    title = fig.layout.title.text if fig.layout.title is not None else None
    if title:
        wrapped = _wrap(title, title_width)
        fig.update_layout(title_text=wrapped)
        if "<br>" in wrapped:
            top = fig.layout.margin.t if fig.layout.margin and fig.layout.margin.t is not None else 80
            fig.update_layout(margin_t=max(top, 60 + 22 * wrapped.count("<br>")))
    for axis in [a for a in fig.layout if a.startswith(("xaxis", "yaxis"))]:
        obj = fig.layout[axis]
        if obj is None:
            continue
        obj.automargin = True
        if obj.title is not None and obj.title.text:
            obj.title.text = _wrap(obj.title.text, axis_width)
    return fig


def _has_data(fig) -> bool:
    """Whether any trace of ``fig`` has a data point (a blank chart is replaced by a one-line reason)."""
    for trace in fig.data:
        for key in ("x", "y", "z", "values", "r", "lat", "dimensions", "cells"):
            value = getattr(trace, key, None) if key in trace else None
            if value is not None and len(value) > 0:
                return True
    return False


def figure(fig, *, caption: str | None = None, check: bool = True, empty: str | None = None) -> None:
    """Show a plotly figure, interactive offline, without embedding plotly.js.

    The figure must have a title and axis titles (with units); the check fails
    the run otherwise. ``caption`` adds one sentence under the figure. Every
    string a reader can see passes through :func:`redact_figure`. A figure
    without a single data point is replaced by :func:`no_data` (``empty``
    gives the reason).
    """
    import plotly.io as pio

    if not _has_data(fig):
        no_data(
            empty
            or (
                f"{fig.layout.title.text}: nothing to plot"
                if fig.layout.title and fig.layout.title.text
                else "nothing to plot"
            )
        )
        return
    if check:
        _check_figure(fig)
    fit_labels(fig)
    fig_dict = redact_figure(fig.to_plotly_json())
    html = _figure_html(fig_dict, _next_div_id())
    if caption:
        html += f'<p class="tl-figcaption" style="font-size:13px;color:#57606a;max-width:60em">{safe_text(caption)}</p>'
    title = redact(fig.layout.title.text or "") if fig.layout.title is not None else ""
    _display(
        {
            "text/html": f'<div class="tl-figure">{html}</div>',
            "text/plain": f"<figure: {title}>",
            PLOTLY_MIME: json.loads(pio.to_json(fig_dict, validate=False)),
        }
    )


try:  # the renderer behind `fig.show()` after setup()
    from plotly.io._base_renderers import MimetypeRenderer as _MimetypeRenderer
except ImportError:  # pragma: no cover
    _MimetypeRenderer = object


class _OfflineRenderer(_MimetypeRenderer):
    def to_mimebundle(self, fig_dict):
        fig_dict = redact_figure(fig_dict)
        return {
            "text/html": f'<div class="tl-figure">{_figure_html(fig_dict, _next_div_id())}</div>',
            PLOTLY_MIME: fig_dict,
        }


def line_ci(
    frame,
    *,
    x: str,
    y: str,
    ci_low: str,
    ci_high: str,
    color: str | None = None,
    title: str,
    x_title: str,
    y_title: str,
    percent: bool = False,
):
    """A line of estimates with a shaded confidence band per group; returns the figure.

    ``frame`` holds one row per (group, x) with the estimate and its interval,
    as the library's tidy results do.
    """
    import plotly.colors as pc
    import plotly.graph_objects as go

    fig = go.Figure()
    if len(frame) == 0:  # nothing to draw: rk.figure shows a no-data line in its place
        fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title)
        return fig
    groups = [(None, frame)] if color is None else list(frame.groupby(color, sort=True))
    palette = pc.qualitative.Plotly
    for i, (name, part) in enumerate(groups):
        part = part.sort_values(x)
        rgb = pc.hex_to_rgb(palette[i % len(palette)])
        label = str(name) if name is not None else y
        fig.add_trace(
            go.Scatter(
                x=list(part[x]) + list(part[x])[::-1],
                y=list(part[ci_high]) + list(part[ci_low])[::-1],
                fill="toself",
                fillcolor=f"rgba({rgb[0]},{rgb[1]},{rgb[2]},0.15)",
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                name=f"{label} CI",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=part[x], y=part[y], mode="lines+markers", name=label, line={"color": palette[i % len(palette)]}
            )
        )
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, hovermode="x unified")
    if percent:
        fig.update_yaxes(tickformat=".1%")
    return fig


def bar_ci(
    frame,
    *,
    x: str,
    y: str,
    ci_low: str,
    ci_high: str,
    title: str,
    x_title: str,
    y_title: str,
    color: str | None = None,
    percent: bool = False,
    horizontal: bool = False,
):
    """Bars of estimates with error bars from ``ci_low``/``ci_high``; returns the figure."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if len(frame) == 0:  # nothing to draw: rk.figure shows a no-data line in its place
        fig.update_layout(
            title=title, xaxis_title=y_title if horizontal else x_title, yaxis_title=x_title if horizontal else y_title
        )
        return fig
    groups = [(None, frame)] if color is None else list(frame.groupby(color, sort=True))
    for name, part in groups:
        plus = (part[ci_high] - part[y]).tolist()
        minus = (part[y] - part[ci_low]).tolist()
        err = {"type": "data", "array": plus, "arrayminus": minus, "visible": True}
        if horizontal:
            fig.add_trace(go.Bar(y=part[x], x=part[y], orientation="h", error_x=err, name=str(name or y)))
        else:
            fig.add_trace(go.Bar(x=part[x], y=part[y], error_y=err, name=str(name or y)))
    fig.update_layout(
        title=title,
        xaxis_title=y_title if horizontal else x_title,
        yaxis_title=x_title if horizontal else y_title,
        barmode="group",
    )
    if percent:
        (fig.update_xaxes if horizontal else fig.update_yaxes)(tickformat=".1%")
    return fig
