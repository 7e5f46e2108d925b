"""Operations dashboard: KPIs against their targets, filtered by program, task, vendor and date.

Run with `trainerlab explore dashboard` (serves on 127.0.0.1). Every number comes
from trainerlab.ops (targets from kpis.toml); tables, names and figures pass through
trainerlab.pii.redact before they are shown (trainerlab.appkit). Each cell opens the
warehouse read-only for its queries only, so ingests can run while the app is open.
"""
import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full", app_title="trainerlab: operations dashboard")


@app.cell
def _():
    import marimo as mo

    from trainerlab import appkit, ops

    cfg = ops.load_kpi_config()
    with appkit.reading() as _wh:  # $TRAINERLAB_DB, set by `trainerlab explore --db`
        options = ops.filter_options(_wh)
    return appkit, cfg, mo, ops, options


@app.cell
def _(appkit, mo, options):
    _all = "(all)"
    program = mo.ui.dropdown(appkit.choices([_all] + options["datasets"]), value=_all, label="program (dataset)")
    task = mo.ui.dropdown(appkit.choices([_all] + options["tasks"]), value=_all, label="task")
    vendor = mo.ui.dropdown(appkit.choices([_all] + options["vendors"]), value=_all, label="vendor")
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
def _(appkit, as_of, cfg, mo, ops, program, task, trend, vendor):
    def _pick(widget):
        return None if widget.value in (None, "(all)") else widget.value

    scope = {"dataset": _pick(program), "task": _pick(task), "vendor": _pick(vendor)}
    when = ops.pd.Timestamp(as_of.value) if as_of.value else None
    with appkit.reading() as _wh:
        table = ops.kpi_table(_wh, when, config=cfg, trend=trend.value, **scope)
    counts = table["status"].value_counts()
    shown = table.drop(columns=["method", "as_of", "off_target", "limit"], errors="ignore").round(4)
    mo.vstack([
        mo.md(f"**{counts.get('breach', 0)} breached, {counts.get('watch', 0)} on watch, {counts.get('met', 0)} met** "
              f"as of {table['as_of'].iloc[0].date()}"),
        appkit.table(shown, page_size=12),
    ])
    return scope, table, when


@app.cell
def _(appkit, mo, table):
    _kpis = appkit.choices(table["kpi"].tolist())
    kpi_choice = mo.ui.dropdown(_kpis, value=next(iter(_kpis)), label="KPI history")
    kpi_choice
    return (kpi_choice,)


@app.cell
def _(appkit, cfg, kpi_choice, mo, ops, scope, when):
    with appkit.reading() as _wh:
        _history = ops.kpi_history(_wh, when, config=cfg, names=[kpi_choice.value], **scope)
    _target = cfg["kpi"].get(kpi_choice.value, {}).get("target")
    # plotly.js inline in an iframe: mo.ui.plotly would fetch MathJax from a CDN (no network here)
    mo.iframe(appkit.figure(ops.kpi_history_figure(_history, kpi_choice.value, _target)).to_html(
        include_plotlyjs=True, full_html=True, config={"displaylogo": False}), height="480px")
    return


@app.cell
def _(appkit, mo, ops, scope, when):
    with appkit.reading() as _wh:
        _end = ops.resolve_as_of(_wh, when)
        _start = _end - ops.pd.Timedelta(days=7)
        _audit = ops.audit_pass_rate(_wh, _start, _end, ("vendor",), **scope)[["vendor", "n", "estimate", "ci_low", "ci_high"]]
        _gold = ops.gold_accuracy(_wh, _start, _end, ("vendor",), **scope)[["vendor", "n", "estimate", "ci_low", "ci_high"]]
        _thr = ops.throughput(_wh, _start, _end, ("vendor",), **scope)[["vendor", "n_labels", "n_raters", "labels_per_day"]]
    _by = _thr.merge(_audit.add_prefix("audit_").rename(columns={"audit_vendor": "vendor"}), on="vendor", how="left")
    _by = _by.merge(_gold.add_prefix("gold_").rename(columns={"gold_vendor": "vendor"}), on="vendor", how="left")
    mo.vstack([
        mo.md("## By vendor, last 7 days\nLabels, audit pass rate and gold accuracy with Wilson 95% intervals."),
        appkit.table(_by.round(4)),
    ])
    return


if __name__ == "__main__":
    app.run()
