"""Executed notebook -> one small, offline HTML page with the code hidden.

nbconvert's ``basic`` template renders the cells (inputs, prompts excluded);
this module wraps them in trainerlab's own page: a header with the run's
identity, a link back to the index, a small stylesheet, and one ``<script>``
tag for the shared ``reports/assets/plotly-X.Y.Z.min.js``. Nothing is fetched
from the network: nbconvert's require.js/MathJax links are not emitted (the
``basic`` template has none) and any stray external ``<script src>`` is removed.

Before conversion the notebook copy loses what a reader must not see: stderr
streams (warnings, progress bars), error outputs (a successful run has none,
but a traceback never reaches a page), code cells without outputs, and cells
tagged ``remove``.
"""

from __future__ import annotations

import copy
import html
import os
import re
import shutil
from pathlib import Path
from typing import Any

PLOTLY_JS_NAME = "plotly-{version}.min.js"
_EXTERNAL_SCRIPT = re.compile(r"<script[^>]+src=[\"']https?://[^>]*>\s*</script>", re.I)
_EXTERNAL_LINK = re.compile(r"<link[^>]+href=[\"']https?://[^>]*>", re.I)

PAGE_CSS = """
:root { --fg:#1f2328; --muted:#57606a; --line:#d0d7de; }
* { box-sizing: border-box; }
body { margin:0; font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color:var(--fg); background:#fff; font-size:15px; line-height:1.5; }
.tl-header { border-bottom:1px solid var(--line); background:#f6f8fa; padding:10px 24px; font-size:13px; color:var(--muted); }
.tl-header a { color:#0969da; text-decoration:none; }
.tl-header .tl-name { font-weight:600; color:var(--fg); margin-right:12px; }
.tl-header .tl-meta span { margin-right:14px; white-space:nowrap; }
main { max-width:1120px; margin:0 auto; padding:8px 24px 48px 24px; }
h1 { font-size:28px; margin:18px 0 6px 0; }
h2 { font-size:21px; margin:28px 0 6px 0; border-bottom:1px solid #eaeef2; padding-bottom:4px; }
h3 { font-size:17px; }
.anchor-link { display:none; }
.output_subarea pre, pre { background:#f6f8fa; padding:8px 10px; border-radius:4px; overflow-x:auto; font-size:13px; }
.output_stderr { display:none; }
table { border-collapse:collapse; }
.rendered_html table:not(.tl-table) td, .rendered_html table:not(.tl-table) th { border-bottom:1px solid #eaeef2; padding:4px 10px; }
.tl-plotly-missing { margin:12px 0; padding:10px 14px; border:2px solid #b42318; border-radius:6px; background:#fff5f5;
                     color:#b42318; font-weight:600; }
/* wide tables scroll inside their own box instead of widening the page */
.tl-table-wrap, .output_html, .output_subarea { max-width:100%; overflow-x:auto; }
/* a long header entry (many parameters, a long warehouse path) wraps instead of widening the page */
.tl-header .tl-meta span { white-space:normal; overflow-wrap:anywhere; }
.tl-glossary { max-width:60em; font-size:13px; color:var(--muted); border-top:1px solid #eaeef2; margin-top:28px; padding-top:8px; }
.tl-footer { max-width:1120px; margin:0 auto; padding:12px 24px 32px 24px; font-size:12px; color:var(--muted); border-top:1px solid #eaeef2; }
"""


# The "what these numbers mean" footnote of every report page (one place, so every report carries it).
GLOSSARY_NOTE = (
    '<p class="tl-glossary" id="what-these-numbers-mean"><strong>What these numbers mean.</strong> '
    "Every coefficient, test and chart on this page is explained in the project glossary, docs/glossary.md "
    "(what it is, how to read it, its range and its reference). Intervals are 95%; a dash is an undefined "
    'value; "No data" names what the warehouse lacks for a section; shares are percentages, coefficients decimals.</p>\n'
)


def plotly_asset(reports_root: Path) -> Path:
    """Copy plotly.js into ``reports/assets/`` once (atomically); return its path."""
    import plotly

    src = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    dest_dir = reports_root / "assets"
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / PLOTLY_JS_NAME.format(version=plotly.__version__)
    if not dest.exists() or dest.stat().st_size != src.stat().st_size:
        tmp = dest_dir / f".{dest.name}.{os.getpid()}.tmp"
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    return dest


def _reader_copy(nb) -> Any:
    nb = copy.deepcopy(nb)
    kept = []
    for cell in nb.cells:
        tags = set(cell.metadata.get("tags") or [])
        if "remove" in tags or "remove-cell" in tags or "papermill-error-cell-tag" in tags:
            continue
        if cell.cell_type == "code":
            outputs = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    continue
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    continue
                outputs.append(out)
            cell.outputs = outputs
            if not outputs:
                continue
        kept.append(cell)
    nb.cells = kept
    return nb


def plotly_source() -> str:
    """plotly.js itself (for a standalone page), safe to put inside a ``<script>`` element."""
    import plotly

    text = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text(encoding="utf-8")
    return text.replace("</script", "<\\/script")


def _missing_plotly_banner(plotly_src: str) -> str:
    """A warning shown when the shared plotly.js did not load (the page was copied without
    ``assets/``, or the file was removed): visible unless a script finds ``window.Plotly``,
    so it also shows where scripts do not run at all (and charts cannot be drawn either)."""
    return (
        f'<div class="tl-plotly-missing" id="tl-plotly-missing" role="alert">The charts on this page cannot be '
        f"shown: the shared plotly.js ({html.escape(plotly_src)}) could not be loaded. Open the page inside its "
        f"reports folder (with assets/ beside it), or render a standalone copy "
        f"(<code>trainerlab report NAME --standalone</code>), which carries plotly.js inside the page.</div>\n"
    )


_HIDE_BANNER = (
    '<script>(function(){var b=document.getElementById("tl-plotly-missing");'
    'if(b&&window.Plotly!==undefined){b.style.display="none";}})();</script>\n'
)


def notebook_to_html(
    nb,
    *,
    title: str,
    header: dict[str, str],
    plotly_src: str | None,
    index_href: str | None = "../../index.html",
    plotly_inline: str | None = None,
) -> str:
    """The reader's page for an executed notebook (code, prompts, stderr and errors removed).

    ``plotly_inline``: plotly.js itself, written into the page (a standalone page: one file,
    nothing else loaded; pass ``index_href=None`` too, so it links to no local file).
    Otherwise a page with figures loads ``plotly_src`` and says visibly when it could not."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="basic", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    body, _ = exporter.from_notebook_node(_reader_copy(nb))
    body = _EXTERNAL_SCRIPT.sub("", body)
    body = _EXTERNAL_LINK.sub("", body)
    from ..reportkit import safe_text

    # Header values include `-p` parameters typed by a user: redacted and escaped like any data.
    meta = "".join(f"<span>{safe_text(k)}: {safe_text(v)}</span>" for k, v in header.items())
    script = f'<script src="{html.escape(plotly_src)}" charset="utf-8"></script>\n' if plotly_src else ""
    has_figures = "Plotly.newPlot" in body or "plotly-graph-div" in body
    banner = hide = ""
    if plotly_inline is not None:
        script = f'<script charset="utf-8">{plotly_inline}</script>\n'
    elif plotly_src and has_figures:
        banner, hide = _missing_plotly_banner(plotly_src), _HIDE_BANNER
    back = f'<a href="{html.escape(index_href)}">&larr; all reports</a> &nbsp; ' if index_href else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{safe_text(title)}</title>\n{script}<style>{PAGE_CSS}</style>\n</head>\n<body>\n"
        f'<div class="tl-header">{back}'
        f'<span class="tl-name">{safe_text(title)}</span><span class="tl-meta">{meta}</span></div>\n'
        f"<main>\n{banner}{body}\n{GLOSSARY_NOTE}</main>\n"
        '<div class="tl-footer">Rendered by trainerlab. Example texts are redacted; '
        "the audit trail of this run (parameters, versions, data fingerprint) is in manifest.json next to this page.</div>\n"
        f"{hide}</body>\n</html>\n"
    )
