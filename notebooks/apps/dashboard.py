"""Operations dashboard: KPIs against their targets, filtered by program, task, vendor and date.

Run with `trainerlab explore dashboard` (serves on 127.0.0.1). Every number comes
from trainerlab.ops (targets from kpis.toml); tables pass through
trainerlab.pii.redact before they are shown.
"""
import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full", app_title="trainerlab: operations dashboard")


@app.cell
def _():
    import marimo as mo

    from trainerlab import ops
    from trainerlab.reportkit import redact_frame
    from trainerlab.warehouse import connect

    wh = connect(None, read_only=True)  # $TRAINERLAB_DB, set by `trainerlab explore --db`
    cfg = ops.load_kpi_config()
    options = ops.filter_options(wh)
    return cfg, mo, ops, options, redact_frame, wh


@app.cell
def _(mo, options):
    _all = "(all)"
    program = mo.ui.dropdown([_all] + options["datasets"], value=_all, label="program (dataset)")
    task = mo.ui.dropdown([_all] + options["tasks"], value=_all, label="task")
    vendor = mo.ui.dropdown([_all] + options["vendors"], value=_all, label="vendor")
    as_of = mo.ui.date(value=options["as_of"].date() if options["as_of"] is not None else None,
                       start=options["first"].date() if options["first"] is not None else None,
                       stop=options["as_of"].date() if options["as_of"] is not None else None, label="as of")
    trend = mo.ui.checkbox(value=True, label="trend (8 weekly windows)")
    mo.vstack([
        mo.md("# Operations dashboard\nEach KPI over the 7 days before *as of* (triage: 28 days), against its "
              "target from `kpis.toml`. Backlog and triage KPIs are program-wide (requests have no task or vendor)."),
        mo.hstack([program, task, vendor, as_of, trend], justify="start", gap=1.5),
    ])
    return as_of, program, task, trend, vendor


@app.cell
def _(as_of, cfg, mo, ops, program, redact_frame, task, trend, vendor, wh):
    def _pick(widget):
        return None if widget.value in (None, "(all)") else widget.value

    scope = {"dataset": _pick(program), "task": _pick(task), "vendor": _pick(vendor)}
    when = ops.pd.Timestamp(as_of.value) if as_of.value else None
    table = ops.kpi_table(wh, when, config=cfg, trend=trend.value, **scope)
    counts = table["status"].value_counts()
    shown = table.drop(columns=["method", "as_of", "off_target", "limit"], errors="ignore").round(4)
    mo.vstack([
        mo.md(f"**{counts.get('breach', 0)} breached, {counts.get('watch', 0)} on watch, {counts.get('met', 0)} met** "
              f"as of {table['as_of'].iloc[0].date()}"),
        mo.ui.table(redact_frame(shown), selection=None, page_size=12, show_column_summaries=False),
    ])
    return scope, table, when


@app.cell
def _(mo, table):
    kpi_choice = mo.ui.dropdown(table["kpi"].tolist(), value=table["kpi"].iloc[0], label="KPI history")
    kpi_choice
    return (kpi_choice,)


@app.cell
def _(cfg, kpi_choice, mo, ops, scope, when, wh):
    _history = ops.kpi_history(wh, when, config=cfg, names=[kpi_choice.value], **scope)
    _target = cfg["kpi"].get(kpi_choice.value, {}).get("target")
    # plotly.js inline in an iframe: mo.ui.plotly would fetch MathJax from a CDN (no network here)
    mo.iframe(ops.kpi_history_figure(_history, kpi_choice.value, _target).to_html(
        include_plotlyjs=True, full_html=True, config={"displaylogo": False}), height="480px")
    return


@app.cell
def _(mo, ops, redact_frame, scope, when, wh):
    _end = ops.resolve_as_of(wh, when)
    _start = _end - ops.pd.Timedelta(days=7)
    _audit = ops.audit_pass_rate(wh, _start, _end, ("vendor",), **scope)[["vendor", "n", "estimate", "ci_low", "ci_high"]]
    _gold = ops.gold_accuracy(wh, _start, _end, ("vendor",), **scope)[["vendor", "n", "estimate", "ci_low", "ci_high"]]
    _thr = ops.throughput(wh, _start, _end, ("vendor",), **scope)[["vendor", "n_labels", "n_raters", "labels_per_day"]]
    _by = _thr.merge(_audit.add_prefix("audit_").rename(columns={"audit_vendor": "vendor"}), on="vendor", how="left")
    _by = _by.merge(_gold.add_prefix("gold_").rename(columns={"gold_vendor": "vendor"}), on="vendor", how="left")
    mo.vstack([
        mo.md("## By vendor, last 7 days\nLabels, audit pass rate and gold accuracy with Wilson 95% intervals."),
        mo.ui.table(redact_frame(_by.round(4)), selection=None, show_column_summaries=False),
    ])
    return


if __name__ == "__main__":
    app.run()
