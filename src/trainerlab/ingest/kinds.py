"""What each canonical table accepts: columns, types, required fields, keys, checks.

One :class:`KindSpec` per ``trainerlab ingest KIND``. The validation SQL in
:mod:`trainerlab.ingest.validate` is generated from these specs, so a rule
lives in exactly one place. docs/ingest.md lists the same rules for users.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# DuckDB type of each logical column type, and the quarantine reason when a
# value does not convert to it.
TYPES = {
    "text": ("VARCHAR", None),
    "timestamp": ("TIMESTAMP", "bad_timestamp"),
    "date": ("DATE", "bad_date"),
    "number": ("DOUBLE", "bad_number"),
    "integer": ("BIGINT", "bad_integer"),
    "int32": ("INTEGER", "bad_integer"),
    "boolean": ("BOOLEAN", "bad_boolean"),
    "json": ("JSON", "bad_json"),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "text"  # a key of TYPES
    required: bool = False
    default: str | None = None  # SQL literal used when the value is missing (never for required)


@dataclass(frozen=True)
class Check:
    """A row-level rule: ``sql`` is a boolean expression over the converted
    values (``v.<column>``) that is TRUE for a bad row."""

    reason: str
    column: str
    sql: str


@dataclass(frozen=True)
class KindSpec:
    kind: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # logical key: one row per key (duplicate_key / conflicts_with_warehouse)
    label_column: str | None = None  # checked against the task's label schema
    task_column: str | None = None
    checks: tuple[Check, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)  # header name -> column
    # columns whose hash finds candidate duplicates (confirmed on every column); default: all
    identity: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


C = Column

SPECS: dict[str, KindSpec] = {
    "items": KindSpec(
        "items",
        (
            C("item_id", required=True),
            C("dataset"),
            C("prompt"),
            C("response"),
            C("intent"),
            C("language"),
            C("source"),
            C("template_id"),
            C("created_at", "timestamp"),
            C("meta", "json"),
        ),
        key=("item_id",),
        aliases={"id": "item_id", "item": "item_id", "text": "prompt", "lang": "language"},
    ),
    "annotations": KindSpec(
        "annotations",
        (
            C("item_id", required=True),
            C("annotator_id", required=True),
            C("task", required=True),
            C("label", required=True),
            C("annotated_at", "timestamp"),
            C("batch_id"),
            C("vendor"),
            C("guideline_version"),
            C("duration_s", "number"),
            C("is_rework", "boolean", default="false"),
            C("suggested_label"),
            C("comment"),
            C("meta", "json"),
        ),
        label_column="label",
        task_column="task",
        checks=(Check("out_of_range", "duration_s", "v.duration_s < 0"),),
        identity=("item_id", "annotator_id", "task", "label", "annotated_at"),
        aliases={
            "item": "item_id",
            "unit": "item_id",
            "rater": "annotator_id",
            "rater_id": "annotator_id",
            "annotator": "annotator_id",
            "worker": "annotator_id",
            "worker_id": "annotator_id",
            "timestamp": "annotated_at",
            "created_at": "annotated_at",
            "duration": "duration_s",
        },
    ),
    "gold": KindSpec(
        "gold",
        (
            C("item_id", required=True),
            C("task", required=True),
            C("gold_label", required=True),
            C("gold_set_version", default="'v1'"),
        ),
        key=("item_id", "task", "gold_set_version"),
        label_column="gold_label",
        task_column="task",
        aliases={"label": "gold_label", "item": "item_id"},
    ),
    "audits": KindSpec(
        "audits",
        (
            C("item_id", required=True),
            C("annotator_id", required=True),
            C("task", required=True),
            C("auditor_id"),
            C("passed", "boolean", required=True),
            C("error_category"),
            C("audited_at", "timestamp"),
        ),
        aliases={"rater": "annotator_id", "auditor": "auditor_id"},
    ),
    "requests": KindSpec(
        "requests",
        (
            C("request_id", required=True),
            C("kind"),
            C("priority"),
            C("opened_at", "timestamp", required=True),
            C("triaged_at", "timestamp"),
            C("closed_at", "timestamp"),
            C("status"),
            C("owner"),
        ),
        key=("request_id",),
        checks=(
            Check("time_order", "triaged_at", "v.triaged_at < v.opened_at"),
            Check("time_order", "closed_at", "v.closed_at < v.opened_at"),
        ),
        aliases={"id": "request_id", "severity": "priority"},
    ),
    "eval_results": KindSpec(
        "eval_results",
        (
            C("run_id", required=True),
            C("model_version", required=True),
            C("suite", required=True),
            C("item_id", required=True),
            C("category"),
            C("metric", required=True),
            C("score", "number"),
            C("passed", "boolean"),
            C("must_not_fail", "boolean", default="false"),
            C("evaluated_at", "timestamp"),
            C("prompt_version"),
        ),
        key=("run_id", "model_version", "suite", "item_id", "metric"),
        aliases={"model": "model_version"},
    ),
    "preferences": KindSpec(
        "preferences",
        (
            C("item_id", required=True),
            C("model_a", required=True),
            C("model_b", required=True),
            C("winner", required=True),
            C("judge_id"),
            C("judged_at", "timestamp"),
            C("a_shown_first", "boolean"),
            C("len_a", "int32"),
            C("len_b", "int32"),
            C("turn", "int32"),
            C("both_bad", "boolean"),
            C("style_a", "json"),
            C("style_b", "json"),
        ),
        checks=(
            Check("bad_value", "winner", "v.winner NOT IN ('a', 'b', 'tie')"),
            Check("bad_value", "model_b", "v.model_a = v.model_b"),
            Check("out_of_range", "len_a", "v.len_a < 0"),
            Check("out_of_range", "len_b", "v.len_b < 0"),
            Check("bad_value", "both_bad", "v.both_bad AND v.winner <> 'tie'"),
        ),
        aliases={"judge": "judge_id"},
    ),
    "interactions": KindSpec(
        "interactions",
        (
            C("day", "date", required=True),
            C("model_version", required=True),
            C("segment"),
            C("n_interactions", "integer", required=True),
            C("n_unsafe", "integer"),
            C("n_pii", "integer"),
            C("n_escalated", "integer"),
            C("prompt_version"),
        ),
        key=("day", "model_version", "segment"),
        checks=(
            Check("out_of_range", "n_interactions", "v.n_interactions < 0"),
            Check("out_of_range", "n_unsafe", "v.n_unsafe < 0 OR v.n_unsafe > v.n_interactions"),
            Check("out_of_range", "n_pii", "v.n_pii < 0 OR v.n_pii > v.n_interactions"),
            Check("out_of_range", "n_escalated", "v.n_escalated < 0 OR v.n_escalated > v.n_interactions"),
        ),
        aliases={"date": "day", "model": "model_version"},
    ),
    # the program's record (docs/warehouse.md): safety, judges, guideline changes, incidents,
    # online outcomes, stakeholder surveys, prompt versions
    "safety_incidents": KindSpec(
        "safety_incidents",
        (
            C("day", "timestamp", required=True),
            C("model_version", required=True),
            C("segment"),
            C("category", required=True),
            C("n_interactions", "integer", required=True),
            C("n_incidents", "integer", required=True),
        ),
        key=("day", "model_version", "segment", "category"),
        checks=(
            Check("out_of_range", "n_interactions", "v.n_interactions < 0"),
            Check("out_of_range", "n_incidents", "v.n_incidents < 0 OR v.n_incidents > v.n_interactions"),
        ),
        aliases={"date": "day", "model": "model_version"},
    ),
    "refusal_cases": KindSpec(
        "refusal_cases",
        (
            C("case_id", required=True),
            C("model_version", required=True),
            C("category"),
            C("segment"),
            C("should_refuse", "boolean", required=True),
            C("did_refuse", "boolean", required=True),
            C("evaluated_at", "timestamp"),
        ),
        key=("case_id", "model_version"),
        aliases={"model": "model_version", "id": "case_id"},
    ),
    "safety_reviews": KindSpec(
        "safety_reviews",
        (
            C("case_id", required=True),
            C("annotator_id", required=True),
            C("vendor"),
            C("task", required=True),
            C("label", required=True),
            C("reviewed_at", "timestamp"),
        ),
        key=("case_id", "annotator_id", "task"),
        checks=(Check("bad_value", "label", "v.label NOT IN ('refuse', 'comply')"),),
        aliases={"rater": "annotator_id", "annotator": "annotator_id"},
    ),
    "judge_labels": KindSpec(
        "judge_labels",
        (
            C("item_id", required=True),
            C("judge_id", required=True),
            C("task", required=True),
            C("label"),
            C("judged_at", "timestamp"),
            C("judge_model"),
            C("judge_family"),
            C("prompt_version"),
            C("meta", "json"),
        ),
        key=("item_id", "judge_id", "task"),
        aliases={"judge": "judge_id", "item": "item_id", "model": "judge_model"},
    ),
    "guideline_changes": KindSpec(
        "guideline_changes",
        (
            C("version", required=True),
            C("task", required=True),
            C("effective_from", "date"),
            C("note"),
        ),
        key=("version", "task"),
        aliases={"guideline_version": "version"},
    ),
    "incidents": KindSpec(
        "incidents",
        (
            C("incident_id", required=True),
            C("opened_at", "timestamp", required=True),
            C("severity", required=True),
            C("category"),
            C("model_version"),
            C("example_item_ids"),
            C("root_cause"),
            C("mitigation"),
            C("mitigation_type"),
            C("mitigated_at", "timestamp"),
            C("resolved_at", "timestamp"),
            C("regression_case_ids"),
            C("title"),
        ),
        key=("incident_id",),
        checks=(
            Check("bad_value", "severity", "v.severity NOT IN ('sev1', 'sev2', 'sev3', 'sev4')"),
            Check("time_order", "mitigated_at", "v.mitigated_at < v.opened_at"),
            Check("time_order", "resolved_at", "v.resolved_at < v.opened_at"),
        ),
        aliases={"id": "incident_id", "model": "model_version"},
    ),
    "outcomes": KindSpec(
        "outcomes",
        (
            C("interaction_id", required=True),
            C("occurred_at", "timestamp", required=True),
            C("model_version", required=True),
            C("prompt_version"),
            C("segment"),
            C("task_success", "boolean"),
            C("csat", "int32"),
            C("escalated", "boolean"),
        ),
        key=("interaction_id",),
        checks=(Check("out_of_range", "csat", "v.csat < 1 OR v.csat > 5"),),
        aliases={"id": "interaction_id", "time": "occurred_at", "model": "model_version"},
    ),
    "surveys": KindSpec(
        "surveys",
        (
            C("response_id", required=True),
            C("respondent_role"),
            C("quarter", required=True),
            C("score", "int32", required=True),
            C("comment"),
            C("submitted_at", "timestamp"),
        ),
        key=("response_id",),
        checks=(
            Check("out_of_range", "score", "v.score < 1 OR v.score > 5"),
            Check("bad_value", "quarter", "NOT regexp_full_match(v.quarter, '\\d{4}-Q[1-4]')"),
        ),
        aliases={"id": "response_id", "role": "respondent_role"},
    ),
    "prompts": KindSpec(
        "prompts",
        (
            C("prompt_id", required=True),
            C("version", required=True),
            C("text_sha256"),
            C("created_at", "timestamp"),
            C("change_note"),
        ),
        key=("prompt_id", "version"),
        aliases={"prompt_version": "version", "note": "change_note"},
    ),
}

# Label values that mean "no label" (pandas/R/SQL spellings of missing), unless the
# task's schema lists the value as a category (a task may well have a category "none").
MISSING_LABEL_TOKENS = ("", "nan", "na", "n/a", "null", "none", "<na>", "nat")

# A field longer than this (characters) is quarantined as field_too_large.
MAX_FIELD_CHARS = 1_000_000
