"""Versioned DDL for the warehouse. docs/warehouse.md describes every table.

Migrations are applied in version order and recorded in ``schema_version``;
a migration is never edited after it lands, a new one is appended instead.
Version ranges are reserved per area so that work on different modules does
not collide: 1-9 core and ingest, 10-19 agreement, 20-29 uplift and gates,
30-39 error analysis, 40-49 drift, 50-59 operations, 60-69 dataset QA,
70-79 judges, 80-89 responsible AI, 90-99 reports.

Column conventions: ``ingest_batch`` on every ingested table points at
``ingest_log.batch_id`` (lineage); ``batch_id`` in ``annotations`` is the
annotation program's own work batch, as in the design card.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol


class MigrationTarget(Protocol):
    """What :func:`apply_migrations` needs of a warehouse (``trainerlab.warehouse.Warehouse`` has it).

    A protocol rather than the class, so this module names nothing of the warehouse module that
    imports it: the DDL stays below the engine, with no reference back up.
    """

    def execute(self, sql: str, params: Any = None) -> Any: ...

    def query(self, sql: str, params: Any = None) -> Any: ...

    def transaction(self) -> AbstractContextManager[Any]: ...


# Tables that `trainerlab ingest KIND` accepts.
INGEST_KINDS = (
    "items",
    "annotations",
    "gold",
    "audits",
    "requests",
    "eval_results",
    "preferences",
    "interactions",
    "safety_incidents",
    "refusal_cases",
    "safety_reviews",
    "judge_labels",
    "guideline_changes",
    "incidents",
    "outcomes",
    "surveys",
    "prompts",
)

# Tables whose content defines "the data" of a report run (manifest fingerprint).
CANONICAL_TABLES = (
    "items",
    "annotations",
    "label_schemas",
    "gold",
    "audits",
    "requests",
    "eval_results",
    "preferences",
    "interactions",
    "ingest_log",
    "quarantine",
    # input tables added by later migrations (judges, safety, coaching); absent ones are skipped
    "judge_labels",
    "safety_incidents",
    "refusal_cases",
    "safety_reviews",
    "coaching_sessions",
    "guideline_changes",
    "incidents",
    "outcomes",
    "surveys",
    "prompts",
)

MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE IF NOT EXISTS items (
            item_id VARCHAR NOT NULL PRIMARY KEY,
            dataset VARCHAR,
            prompt VARCHAR,
            response VARCHAR,
            intent VARCHAR,
            language VARCHAR,
            source VARCHAR,
            template_id VARCHAR,      -- items sharing a prompt template: the cluster for clustered SEs
            created_at TIMESTAMP,
            meta JSON,
            ingest_batch VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS annotations (
            item_id VARCHAR NOT NULL,
            annotator_id VARCHAR NOT NULL,
            task VARCHAR NOT NULL,
            label VARCHAR,            -- the category as text; NULL only for a rater's explicit skip
            annotated_at TIMESTAMP,
            batch_id VARCHAR,         -- the program's work batch
            vendor VARCHAR,
            guideline_version VARCHAR,
            duration_s DOUBLE,
            is_rework BOOLEAN DEFAULT FALSE,
            suggested_label VARCHAR,  -- a model's pre-label shown to the rater, if any
            comment VARCHAR,
            meta JSON,
            ingest_batch VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS label_schemas (
            task VARCHAR NOT NULL PRIMARY KEY,
            level VARCHAR NOT NULL CHECK (level IN ('nominal', 'ordinal', 'interval', 'ratio')),
            categories VARCHAR[] NOT NULL,  -- ordered for ordinal/interval/ratio
            provisional BOOLEAN NOT NULL DEFAULT FALSE,
            updated_at TIMESTAMP,
            note VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS gold (
            item_id VARCHAR NOT NULL,
            task VARCHAR NOT NULL,
            gold_label VARCHAR NOT NULL,
            gold_set_version VARCHAR NOT NULL DEFAULT 'v1',
            ingest_batch VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS audits (
            item_id VARCHAR NOT NULL,
            annotator_id VARCHAR NOT NULL,
            task VARCHAR NOT NULL,
            auditor_id VARCHAR,
            passed BOOLEAN NOT NULL,
            error_category VARCHAR,
            audited_at TIMESTAMP,
            ingest_batch VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS requests (
            request_id VARCHAR NOT NULL,
            kind VARCHAR,
            priority VARCHAR,         -- severity: high | medium | low
            opened_at TIMESTAMP NOT NULL,
            triaged_at TIMESTAMP,
            closed_at TIMESTAMP,
            status VARCHAR,
            owner VARCHAR,
            ingest_batch VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS eval_results (
            run_id VARCHAR NOT NULL,
            model_version VARCHAR NOT NULL,
            suite VARCHAR NOT NULL,
            item_id VARCHAR NOT NULL,
            category VARCHAR,
            metric VARCHAR NOT NULL,
            score DOUBLE,
            passed BOOLEAN,
            must_not_fail BOOLEAN DEFAULT FALSE,
            evaluated_at TIMESTAMP,
            ingest_batch VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS preferences (
            item_id VARCHAR NOT NULL,
            model_a VARCHAR NOT NULL,
            model_b VARCHAR NOT NULL,
            winner VARCHAR CHECK (winner IN ('a', 'b', 'tie')),
            judge_id VARCHAR,
            judged_at TIMESTAMP,
            a_shown_first BOOLEAN,    -- position in the judge's prompt, where known
            len_a INTEGER,            -- output lengths in characters, where known
            len_b INTEGER,
            ingest_batch VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS interactions (
            day DATE NOT NULL,
            model_version VARCHAR NOT NULL,
            segment VARCHAR,          -- e.g. language or region; NULL for the total
            n_interactions BIGINT NOT NULL,
            n_unsafe BIGINT,
            n_pii BIGINT,
            n_escalated BIGINT,
            ingest_batch VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS ingest_log (
            batch_id VARCHAR NOT NULL PRIMARY KEY,
            source_file VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            format VARCHAR,
            task VARCHAR,
            rows_in BIGINT NOT NULL,
            rows_accepted BIGINT NOT NULL,
            rows_quarantined BIGINT NOT NULL,
            ingested_at TIMESTAMP NOT NULL,
            note VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS quarantine (
            batch_id VARCHAR NOT NULL,
            row_number BIGINT NOT NULL,   -- 1-based data row (line number for JSONL)
            raw VARCHAR,
            reason VARCHAR NOT NULL,
            column_name VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS truth (
            key VARCHAR NOT NULL PRIMARY KEY,  -- the planted truth of a demo program
            value JSON NOT NULL)""",
    ],
    # undo (trainerlab batches undo): the batch's row stays in ingest_log, marked undone,
    # with what was removed (lineage stays true; a re-ingest gets a new batch id)
    5: [
        "ALTER TABLE ingest_log ADD COLUMN IF NOT EXISTS undone_at TIMESTAMP",
        "ALTER TABLE ingest_log ADD COLUMN IF NOT EXISTS undo_note VARCHAR",
    ],
    # rater identity: a display name kept beside the rater id (pages show initials only)
    6: [
        """CREATE TABLE IF NOT EXISTS raters (
            annotator_id VARCHAR NOT NULL PRIMARY KEY,  -- the id in annotations (Label Studio: the user id)
            display_name VARCHAR,             -- name or e-mail as exported or set; PII: never shown raw on pages
            vendor VARCHAR,
            source VARCHAR NOT NULL,          -- 'label_studio' (from an export) | 'raters set' (by hand)
            ingest_batch VARCHAR,             -- the batch the name came from, if any
            updated_at TIMESTAMP)""",
    ],
    # 20-29 uplift and release gates
    20: [
        """CREATE TABLE IF NOT EXISTS release_decisions (
            decision_id VARCHAR NOT NULL PRIMARY KEY,
            decided_at TIMESTAMP NOT NULL,
            candidate VARCHAR NOT NULL,
            baseline VARCHAR NOT NULL,
            verdict VARCHAR NOT NULL CHECK (verdict IN ('GO', 'NO-GO')),
            gate_name VARCHAR,
            gate_file VARCHAR,
            gate_sha256 VARCHAR NOT NULL,     -- hash of the gate file's bytes
            eval_runs JSON,                   -- {suite: {model_version: run_id}} the checks read
            eval_rows_sha256 VARCHAR,         -- hash of the eval rows themselves
            data_fingerprint JSON,            -- Warehouse.fingerprint(): row counts, content hashes, ingest batches
            checks JSON NOT NULL,             -- one object per check: name, type, status, evidence, numbers
            trainerlab_version VARCHAR,
            decided_by VARCHAR,
            note VARCHAR)""",
    ],
    # 30-39 error analysis (trainerlab.errors): clustering runs, failure modes, regression cases
    30: [
        """CREATE TABLE IF NOT EXISTS error_runs (
            run_id VARCHAR NOT NULL PRIMARY KEY,  -- err-<hash of source, params and items>
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR,
            source JSON,                      -- what was clustered: model_version, suite, eval run, dates, text column
            params JSON,                      -- clusterer parameters, including the seed
            n_texts BIGINT NOT NULL,
            n_clusters INTEGER NOT NULL,
            n_fine_clusters INTEGER,
            outlier_share DOUBLE,
            merge JSON,                       -- the paraphrase-merge rule and cut
            data_fingerprint VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS error_assignments (
            run_id VARCHAR NOT NULL,
            item_id VARCHAR NOT NULL,
            cluster_id INTEGER NOT NULL,      -- -1 = outlier
            fine_cluster_id INTEGER,          -- HDBSCAN's cluster before merging
            PRIMARY KEY (run_id, item_id))""",
        """CREATE TABLE IF NOT EXISTS error_clusters (
            run_id VARCHAR NOT NULL,
            cluster_id INTEGER NOT NULL,
            size INTEGER NOT NULL,
            keywords VARCHAR[],
            profile JSON,                     -- {word: share of the cluster's texts containing it}, top words
            mode_id VARCHAR,                  -- the named failure mode this cluster matched, if any
            match_score DOUBLE,
            PRIMARY KEY (run_id, cluster_id))""",
        """CREATE TABLE IF NOT EXISTS failure_modes (
            mode_id VARCHAR NOT NULL,         -- fm-0001, stable across runs
            version INTEGER NOT NULL,         -- every rename or note appends a version
            name VARCHAR NOT NULL,
            note VARCHAR,
            status VARCHAR NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'fixed', 'wont_fix')),
            run_id VARCHAR,                   -- the clustering run the analyst named it in
            cluster_id INTEGER,
            keywords VARCHAR[],
            profile JSON,                     -- word-presence profile used to match later runs' clusters
            named_by VARCHAR,
            named_at TIMESTAMP NOT NULL,
            PRIMARY KEY (mode_id, version))""",
        """CREATE TABLE IF NOT EXISTS regression_cases (
            suite VARCHAR NOT NULL,           -- a must-not-fail suite, e.g. 'must_not_fail'
            item_id VARCHAR NOT NULL,
            prompt VARCHAR,
            failing_response VARCHAR,         -- the response that failed (the incident)
            mode_id VARCHAR,
            source_run VARCHAR,               -- error_runs.run_id (or an eval run) it came from
            cluster_id INTEGER,
            added_by VARCHAR NOT NULL,
            added_at TIMESTAMP NOT NULL,
            reason VARCHAR NOT NULL,
            PRIMARY KEY (suite, item_id))""",
    ],
    # 40-49 drift monitoring
    40: [
        """CREATE TABLE IF NOT EXISTS alerts (
            alert_id VARCHAR NOT NULL PRIMARY KEY,
            source VARCHAR NOT NULL,          -- what was scanned: 'warehouse' or a file path
            signal VARCHAR NOT NULL,          -- gold_accuracy, consensus_agreement, label_shift, off_peer,
                                              -- label_drift, agreement_drift, input_drift
            entity VARCHAR NOT NULL,          -- the rater, task or input feature
            task VARCHAR NOT NULL DEFAULT '', -- '' when the signal pools tasks
            status VARCHAR NOT NULL CHECK (status IN ('new', 'ongoing', 'resolved')),
            since VARCHAR,                    -- estimated onset: a value of the time column, ISO text
            flagged_at VARCHAR,               -- the period in which the rule turned on
            window_start VARCHAR,             -- the scan's monitoring window
            window_end VARCHAR,
            magnitude DOUBLE,
            p_value DOUBLE,
            q_value DOUBLE,
            direction VARCHAR,
            method VARCHAR,
            first_seen_at TIMESTAMP NOT NULL, -- when a scan first reported it (as new)
            last_seen_at TIMESTAMP NOT NULL,  -- the last scan that still found it
            resolved_at TIMESTAMP,            -- the first scan that no longer found it
            times_seen INTEGER NOT NULL DEFAULT 1,
            detail JSON)""",
    ],
    # the guideline change log: which tasks a guideline version was written for (drift's
    # difference-in-differences takes its treated tasks from here, not from the data)
    41: [
        """CREATE TABLE IF NOT EXISTS guideline_changes (
            version VARCHAR NOT NULL,         -- the guideline_version that introduced the change
            task VARCHAR NOT NULL,            -- a task the change was written for
            effective_from DATE,              -- when the version took effect
            note VARCHAR,                     -- what changed, in words
            PRIMARY KEY (version, task))""",
    ],
    # 50-59 operations (trainerlab.vendors): coaching sessions, for coaching effectiveness
    50: [
        """CREATE TABLE IF NOT EXISTS coaching_sessions (
            annotator_id VARCHAR NOT NULL,    -- the rater coached
            vendor VARCHAR,
            coached_at TIMESTAMP NOT NULL,    -- the session; effectiveness compares gold checks before and after
            topic VARCHAR,                    -- e.g. 'gold accuracy down since week 7'
            coach VARCHAR,
            note VARCHAR,
            recorded_at TIMESTAMP)""",
    ],
    # 60-69 dataset QA and governance (trainerlab.datasets)
    60: [
        """CREATE TABLE IF NOT EXISTS dataset_snapshots (
            snapshot_id VARCHAR NOT NULL PRIMARY KEY,   -- NAME@vN
            name VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            content_hash VARCHAR NOT NULL,    -- sha256 of column names + sorted row digests (order-free)
            path VARCHAR NOT NULL,            -- folder with data.parquet, manifest.json, datasheet.md
            n_rows BIGINT NOT NULL,
            schema JSON NOT NULL,             -- [{name, dtype}]
            parents JSON,                     -- {snapshots, tables, datasets, sources (ingest batches)}
            transform VARCHAR,                -- the SQL that made it
            consent VARCHAR,
            retention_days INTEGER,
            expires_at TIMESTAMP,
            tags JSON,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR,
            manifest JSON NOT NULL,
            UNIQUE (name, version))""",
        """CREATE TABLE IF NOT EXISTS lineage_edges (
            src_kind VARCHAR NOT NULL,        -- source_file | ingest_batch | table | snapshot | eval_run | ...
            src_id VARCHAR NOT NULL,
            dst_kind VARCHAR NOT NULL,        -- snapshot | export | training_run | release_decision | ...
            dst_id VARCHAR NOT NULL,
            relation VARCHAR NOT NULL,        -- derived_into | selected_into | contributed_to | exported_as | used_by
            created_at TIMESTAMP NOT NULL,
            detail JSON)""",
        """CREATE TABLE IF NOT EXISTS dataset_exports (
            export_id VARCHAR NOT NULL,       -- NAME@vN:FORMAT:hash12
            snapshot_id VARCHAR NOT NULL,
            format VARCHAR NOT NULL CHECK (format IN ('sft', 'preference')),
            path VARCHAR,
            export_hash VARCHAR NOT NULL,     -- sha256 over the train and eval files' digests
            n_train BIGINT,
            n_eval BIGINT,
            n_refused BIGINT,
            pii_records BIGINT,
            pii_policy VARCHAR,               -- refused | allowed | redacted
            allow_pii_reason VARCHAR,         -- the logged reason when PII was allowed
            params JSON,
            created_at TIMESTAMP NOT NULL,
            created_by VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS retention_policies (
            scope VARCHAR NOT NULL,           -- dataset | source (columns of items) | snapshot
            value VARCHAR NOT NULL,
            retention_days INTEGER NOT NULL CHECK (retention_days > 0),
            date_column VARCHAR NOT NULL DEFAULT 'created_at',
            note VARCHAR,
            set_at TIMESTAMP,
            PRIMARY KEY (scope, value))""",
    ],
    # 70-79 judges (trainerlab.judges): labels proposed by model raters (LLM judges, pre-labelers)
    70: [
        """CREATE TABLE IF NOT EXISTS judge_labels (
            item_id VARCHAR NOT NULL,
            judge_id VARCHAR NOT NULL,        -- the model rater, e.g. 'llm-judge'
            task VARCHAR NOT NULL,            -- a label_schemas task (or any task name)
            label VARCHAR,                    -- the category as text; NULL when the judge gave no usable label
            judged_at TIMESTAMP,
            judge_model VARCHAR,              -- model name and version behind judge_id, where known
            judge_family VARCHAR,             -- model family, for self-preference checks
            prompt_version VARCHAR,           -- version of the judging prompt / rubric
            meta JSON,
            ingest_batch VARCHAR)""",
    ],
    # arena battle logs (ingest --format arena): the turn, both-bad ties and the answers' style counts
    71: [
        "ALTER TABLE preferences ADD COLUMN IF NOT EXISTS turn INTEGER",
        "ALTER TABLE preferences ADD COLUMN IF NOT EXISTS both_bad BOOLEAN",
        "ALTER TABLE preferences ADD COLUMN IF NOT EXISTS style_a JSON",
        "ALTER TABLE preferences ADD COLUMN IF NOT EXISTS style_b JSON",
    ],
    # 80-89 responsible AI (trainerlab.fairness, trainerlab.safety)
    80: [
        """CREATE TABLE IF NOT EXISTS safety_incidents (
            day TIMESTAMP NOT NULL,
            model_version VARCHAR NOT NULL,
            segment VARCHAR,                  -- e.g. language
            category VARCHAR NOT NULL,        -- harm category: self_harm, hate, sexual, privacy, dangerous_advice
            n_interactions BIGINT NOT NULL,   -- exposure of the (day, model_version, segment) cell
            n_incidents BIGINT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS refusal_cases (
            case_id VARCHAR NOT NULL,
            model_version VARCHAR NOT NULL,
            category VARCHAR,                 -- harm category of the prompt, or 'benign'
            segment VARCHAR,
            should_refuse BOOLEAN NOT NULL,   -- the policy's answer
            did_refuse BOOLEAN NOT NULL,      -- the model's answer
            evaluated_at TIMESTAMP)""",
        """CREATE TABLE IF NOT EXISTS safety_reviews (
            case_id VARCHAR NOT NULL,
            annotator_id VARCHAR NOT NULL,
            vendor VARCHAR,
            task VARCHAR NOT NULL,            -- 'should_refuse'
            label VARCHAR,                    -- 'refuse' | 'comply'
            reviewed_at TIMESTAMP)""",
    ],
    # 90-99 where to look next (trainerlab.lookahead): audit plans, one row per drawn unit
    90: [
        """CREATE TABLE IF NOT EXISTS audit_plans (
            plan_id VARCHAR NOT NULL,         -- e.g. 'safety-2026-08-24-s7'
            item_id VARCHAR NOT NULL,         -- the drawn unit: an annotation (item, rater, task);
            annotator_id VARCHAR NOT NULL,    -- its audit is the audits row with the same three
            task VARCHAR NOT NULL,
            stratum VARCHAR NOT NULL,         -- 'vendor | rater | intent'
            vendor VARCHAR,
            intent VARCHAR,
            risk_weight DOUBLE NOT NULL,      -- the stratum's sampling weight (2 per risk signal)
            risk_reasons VARCHAR,             -- which signals raised it
            stratum_size BIGINT NOT NULL,     -- units in the stratum (the population)
            stratum_n INTEGER NOT NULL,       -- units drawn from it
            inclusion_prob DOUBLE NOT NULL,   -- stratum_n / stratum_size; the design weight is its inverse
            seed BIGINT NOT NULL,
            target DOUBLE,
            created_at TIMESTAMP NOT NULL)""",
    ],
    # 1-9 ingest: the prompt version a result or an interaction was made with
    8: [
        "ALTER TABLE eval_results ADD COLUMN IF NOT EXISTS prompt_version VARCHAR",
        "ALTER TABLE interactions ADD COLUMN IF NOT EXISTS prompt_version VARCHAR",
    ],
    # 50-59 operations: the program's own record (incidents, online outcomes, stakeholder
    # surveys, prompt versions); docs/warehouse.md describes each column
    55: [
        "ALTER TABLE guideline_changes ADD COLUMN IF NOT EXISTS ingest_batch VARCHAR",  # now an ingest kind
        """CREATE TABLE IF NOT EXISTS incidents (
            incident_id VARCHAR NOT NULL,
            opened_at TIMESTAMP NOT NULL,
            severity VARCHAR NOT NULL,        -- sev1 (worst) .. sev4
            category VARCHAR,                 -- harm or failure category, e.g. privacy, hallucination
            model_version VARCHAR,
            example_item_ids VARCHAR,         -- item ids of examples, separated by ';'
            root_cause VARCHAR,
            mitigation VARCHAR,
            mitigation_type VARCHAR,          -- prompt_patch | safety_layer | blocklist | dataset_hotfix | ...
            mitigated_at TIMESTAMP,
            resolved_at TIMESTAMP,
            regression_case_ids VARCHAR,      -- linked regression (must-not-fail) item ids, separated by ';'
            title VARCHAR,
            ingest_batch VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS outcomes (
            interaction_id VARCHAR NOT NULL,
            occurred_at TIMESTAMP NOT NULL,
            model_version VARCHAR NOT NULL,
            prompt_version VARCHAR,
            segment VARCHAR,                  -- e.g. locale or product surface
            task_success BOOLEAN,
            csat INTEGER,                     -- 1..5
            escalated BOOLEAN,
            ingest_batch VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS surveys (
            response_id VARCHAR NOT NULL,
            respondent_role VARCHAR,          -- e.g. product, policy, research
            quarter VARCHAR NOT NULL,         -- YYYY-Qn
            score INTEGER NOT NULL,           -- 1..5
            comment VARCHAR,
            submitted_at TIMESTAMP,
            ingest_batch VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS prompts (
            prompt_id VARCHAR NOT NULL,
            version VARCHAR NOT NULL,
            text_sha256 VARCHAR,              -- hash of the prompt text (the text itself stays out)
            created_at TIMESTAMP,
            change_note VARCHAR,
            ingest_batch VARCHAR)""",
    ],
    # lineage for the responsible-AI tables that became ingest kinds
    89: [
        "ALTER TABLE safety_incidents ADD COLUMN IF NOT EXISTS ingest_batch VARCHAR",
        "ALTER TABLE refusal_cases ADD COLUMN IF NOT EXISTS ingest_batch VARCHAR",
        "ALTER TABLE safety_reviews ADD COLUMN IF NOT EXISTS ingest_batch VARCHAR",
    ],
}


def apply_migrations(wh: MigrationTarget) -> list[int]:
    """Apply every migration not yet recorded; return the versions applied."""
    wh.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP DEFAULT now())"
    )
    done = set(wh.query("SELECT version FROM schema_version")["version"].tolist())
    applied = []
    for version in sorted(MIGRATIONS):
        if version in done:
            continue
        with wh.transaction():
            for statement in MIGRATIONS[version]:
                wh.execute(statement)
            wh.execute("INSERT INTO schema_version (version) VALUES (?)", [version])
        applied.append(version)
    return applied
