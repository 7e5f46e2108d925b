"""Disagreement explorer: items whose raters disagree, filtered by task, label, rater and guideline version.

Run with `trainerlab explore disagreements` (serves on 127.0.0.1). Every text and
name shown is redacted by trainerlab.pii.redact (trainerlab.appkit); each cell opens
the warehouse read-only for its queries only, so ingests can run while the app is open.
"""
import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full", app_title="trainerlab: disagreements")


@app.cell
def _():
    import marimo as mo

    from trainerlab import appkit, disputes

    with appkit.reading() as _wh:  # $TRAINERLAB_DB, set by `trainerlab explore --db`
        options = disputes.filter_options(_wh)
    return appkit, disputes, mo, options


@app.cell
def _(appkit, mo, options):
    _tasks = appkit.choices(options["tasks"])
    task = mo.ui.dropdown(_tasks, value=next(iter(_tasks), None), label="task")
    rater = mo.ui.dropdown(appkit.choices(["(any)"] + options["raters"]), value="(any)", label="rater")
    guideline = mo.ui.dropdown(appkit.choices(["(any)"] + options["guideline_versions"]), value="(any)",
                               label="guideline version")
    return guideline, rater, task


@app.cell
def _(appkit, guideline, mo, options, rater, task):
    label = mo.ui.dropdown(appkit.choices(["(any)"] + options["labels"].get(task.value, [])), value="(any)",
                           label="label")
    mo.vstack([
        mo.md("# Disagreements\nItems whose raters gave different labels, most contested first. "
              "Texts are redacted."),
        mo.hstack([task, label, rater, guideline], justify="start", gap=1.5),
    ])
    return (label,)


@app.cell
def _(appkit, disputes, guideline, label, mo, rater, task):
    def _pick(widget):
        return None if widget.value in (None, "(any)") else widget.value

    with appkit.reading() as _wh:
        frame = disputes.disputed_items(_wh, task.value, label=_pick(label), rater=_pick(rater),
                                        guideline_version=_pick(guideline), limit=500)
    total = int(frame["disputed_total"].iloc[0]) if len(frame) else 0
    shown = frame.drop(columns=["disputed_total"]).assign(
        top_share=frame["top_share"].round(2), gold_label=frame["gold_label"].fillna("–"))
    mo.vstack([
        mo.md(f"**{total:,} disputed items** for task *{appkit.md_text(task.value)}*"
              + (f" (showing the {len(frame):,} most contested)" if total > len(frame) else "")),
        appkit.table(shown, page_size=15),
    ])
    return


@app.cell
def _(appkit, disputes, guideline, mo, task):
    # Rater quality for the selected task: the same library call, inputs and seed as the agreement report
    # (gold labels anchor the model when the task has them), so the explorer and the report agree.
    from trainerlab import annotators as annotators_lib

    _version = None if guideline.value in (None, "(any)") else guideline.value
    with appkit.reading() as _wh:
        quality_table, _study = disputes.rater_quality(_wh, task.value, guideline_version=_version)
    ds_ratings, ds_model = _study["ratings"], _study["model"]
    mo.vstack([
        mo.md("## Rater quality\nDawid-Skene quality: chance-corrected accuracy against the inferred true label "
              "(1 perfect, about 0 random)" + (", anchored on the task's gold labels" if _study["uses_gold"] else "")
              + ". Flagged raters need coaching before their labels are used. Same numbers as the agreement report."),
        appkit.table(quality_table.round(3), page_size=12),
    ])
    return annotators_lib, ds_model, ds_ratings, quality_table


@app.cell
def _(annotators_lib, appkit, ds_model, ds_ratings, mo):
    # Calibration ranking: disputes among reliable raters first (entropy of quality-weighted labels)
    _ranked = annotators_lib.disputed_items(ds_ratings, model=ds_model, top=200)
    _cols = ["rank", "item", "dispute", "labels", "label_pair", "model_label", "model_confidence"]
    mo.vstack([
        mo.md("## Calibration ranking\nItems whose *reliable* raters disagree, most disputed first: each rating "
              "weighs its rater's quality, so a careless rater's dissent alone does not make an item disputed."),
        appkit.table(_ranked[_cols].round(3), page_size=15),
    ])
    return


if __name__ == "__main__":
    app.run()
