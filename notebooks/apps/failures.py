"""Failure explorer: cluster a model's failing responses, pick a failure mode, read its
examples, name it, and turn its incidents into must-not-fail cases.

Run with `trainerlab explore failures` (serves on 127.0.0.1). Clustering is seeded
(same filters and seed, same clusters, same run id); names are saved as versioned
failure modes and carried to later runs. Every text and name shown is redacted by
trainerlab.pii.redact (trainerlab.appkit). Each cell opens the warehouse read-only
for its queries only, and read-write only for the moment of a save.
"""
import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full", app_title="trainerlab: failure modes")


@app.cell
def _():
    import marimo as mo

    from trainerlab import appkit, errors

    with appkit.reading() as _wh:  # $TRAINERLAB_DB, set by `trainerlab explore --db`
        options = errors.failure_filters(_wh)
    return appkit, errors, mo, options


@app.cell
def _(appkit, mo, options):
    _versions = appkit.choices(options["model_versions"] or ["(none)"])
    model_version = mo.ui.dropdown(_versions, value=list(_versions)[-1], label="model version")
    suite = mo.ui.dropdown(appkit.choices(["(any)"] + options["suites"]),
                           value="core" if "core" in options["suites"] else "(any)", label="suite")
    min_size = mo.ui.number(start=2, stop=500, value=10, label="min cluster size")
    seed = mo.ui.number(start=0, stop=10_000, value=7, label="seed")
    mo.vstack([
        mo.md("# Failure modes\nThe model's failing responses grouped into failure modes (BERTopic, offline and "
              "seeded; paraphrases of one mode merged). Pick a mode, read it, name it."),
        mo.hstack([model_version, suite, min_size, seed], justify="start", gap=1.5),
    ])
    return min_size, model_version, seed, suite


@app.cell
def _(appkit, errors, min_size, mo, model_version, seed, suite):
    # Cluster and save the run (same filters and seed -> same run id, replaced not duplicated)
    mo.stop(model_version.value == "(none)", mo.md("No failing eval results in this warehouse."))
    _suite = None if suite.value == "(any)" else suite.value
    with mo.status.spinner(title="Clustering failing responses..."):
        with appkit.reading() as _wh:
            failures = errors.load_failures(_wh, model_version=model_version.value, suite=_suite)
            traffic = errors.load_traffic(_wh, model_version=model_version.value, suite=_suite)
        model = errors.FailureClusterer(min_cluster_size=int(min_size.value), seed=int(seed.value)).fit(
            failures["text"].tolist())
        with appkit.writing() as _wh:
            run_id = errors.save_run(_wh, model, failures, source={"model_version": model_version.value,
                                                                    "suite": _suite, "text": "response"})
    return failures, model, run_id, traffic


@app.cell
def _(mo):
    get_version, set_version = mo.state(0)  # bumped after every save, so names reload
    return get_version, set_version


@app.cell
def _(appkit, errors, failures, get_version, model, traffic, run_id):
    get_version()
    with appkit.reading() as _wh:
        names = errors.run_names(_wh, run_id)
        gaps = errors.cluster_gaps(_wh, model, failures)
    table = errors.describe_clusters(model, failures, traffic, names=names, n_examples=3)
    return gaps, names, table


@app.cell
def _(appkit, mo, model, run_id, table):
    _s = model.summary()
    _labels = {appkit.redact(f"{r.cluster}: {r.name or r.keywords.split(', ')[0]} ({r.size})"): int(r.cluster)
               for r in table.itertuples()}
    cluster = mo.ui.dropdown(_labels, value=next(iter(_labels), None), label="failure mode")
    _overview = table[["cluster", "name", "size", "share", "keywords", "intents", "severity", "trend"]].assign(
        share=table["share"].round(3))
    mo.vstack([
        mo.md(f"**{_s['n_texts']:,} failing responses, {_s['n_clusters']} failure modes, "
              f"{_s['outlier_share']:.1%} outliers** (error run {appkit.md_text(run_id)}; "
              f"{appkit.md_text(model.merge_['rule'])})."),
        appkit.table(_overview, page_size=12),
        cluster,
    ])
    return (cluster,)


@app.cell
def _(appkit, cluster, errors, failures, gaps, mo, model, table):
    mo.stop(cluster.value is None, mo.md("No failure mode to show (all texts are outliers)."))
    _row = table.set_index("cluster").loc[cluster.value]
    _gap = gaps.set_index("cluster").loc[cluster.value]
    _examples = errors.cluster_examples(model, failures, k=10)
    _examples = _examples[_examples["cluster"] == cluster.value].drop(columns=["cluster"])
    _lift = ("undefined" if _row["lift"] != _row["lift"] else
             f"{_row['lift']:.1f}x in {appkit.md_text(_row['top_intent'])} (95% CI {_row['lift_ci_low']:.1f} to {_row['lift_ci_high']:.1f})")
    mo.vstack([
        mo.md(f"## Mode {cluster.value}: {appkit.md_text(_row['name'] or '(unnamed)')}\n"
              f"- **keywords:** {appkit.md_text(_row['keywords'])}\n"
              f"- **size:** {_row['size']} ({_row['share']:.1%} of failures, 95% CI {_row['share_ci_low']:.1%} to "
              f"{_row['share_ci_high']:.1%})\n"
              f"- **intents:** {appkit.md_text(_row['intents'])}; **languages:** {appkit.md_text(_row['languages'])}; "
              f"**severity:** {appkit.md_text(_row['severity'])}\n"
              f"- **lift:** {_lift}; **trend:** {appkit.md_text(_row['trend'])}\n"
              f"- **must-not-fail cases:** {_gap['n_regression_cases']}"),
        mo.md("### Most typical responses (redacted)"),
        appkit.table(_examples, page_size=10),
    ])
    return


@app.cell
def _(appkit, cluster, mo, names):
    new_name = mo.ui.text(value=appkit.redact(names.get(cluster.value, "")) if cluster.value is not None else "",
                          label="name", full_width=True)
    note = mo.ui.text_area(label="note (what it is, what to do)", full_width=True)
    status = mo.ui.dropdown(["open", "fixed", "wont_fix"], value="open", label="status")
    save = mo.ui.run_button(label="save name")
    reason = mo.ui.text(label="why it must never fail again", full_width=True)
    n_cases = mo.ui.number(start=1, stop=50, value=3, label="cases")
    add = mo.ui.run_button(label="add as must-not-fail cases")
    mo.vstack([
        mo.md("### Name this failure mode"), new_name, note, mo.hstack([status, save], justify="start"),
        mo.md("### From incident to regression case"), reason, mo.hstack([n_cases, add], justify="start"),
    ])
    return add, n_cases, new_name, note, reason, save, status


@app.cell
def _(appkit, cluster, errors, mo, new_name, note, run_id, save, set_version, status):
    mo.stop(not save.value)
    try:
        with appkit.writing() as _wh:
            _rec = errors.name_mode(_wh, run_id, cluster.value, new_name.value, note=note.value or None,
                                    status=status.value)
        set_version(lambda v: v + 1)
        _msg = mo.callout(mo.md(f"Saved **{appkit.md_text(_rec['name'])}** as {appkit.md_text(_rec['mode_id'])} "
                                f"version {_rec['version']}."),
                          kind="success")
    except (KeyError, ValueError) as exc:
        _msg = mo.callout(mo.md(f"Not saved: {appkit.md_text(exc)}"), kind="danger")
    _msg
    return


@app.cell
def _(add, appkit, cluster, errors, mo, model, n_cases, failures, reason, run_id, set_version):
    mo.stop(not add.value)
    _reps = model.representatives(int(n_cases.value)).get(cluster.value, [])
    _ids = [failures["item_id"].iloc[i] for i in _reps]
    try:
        with appkit.writing() as _wh:
            _out = errors.add_regression(_wh, item_ids=_ids, run_id=run_id, reason=reason.value)
        set_version(lambda v: v + 1)
        _msg = mo.callout(mo.md(f"{int((_out['status'] == 'added').sum())} added to must_not_fail, "
                                f"{int((_out['status'] != 'added').sum())} already there."), kind="success")
    except ValueError as exc:
        _msg = mo.callout(mo.md(f"Not added: {appkit.md_text(exc)}"), kind="danger")
    _msg
    return


@app.cell
def _(appkit, errors, mo, model, failures, names):
    mo.vstack([mo.md("## Map of the failures\nHover a point to read a (redacted) response."),
               appkit.figure(errors.failure_map(model, failures, names=names))])
    return


if __name__ == "__main__":
    app.run()
