"""The decision on a model rater, task by task: replace, assist or must_not_use, from the
evidence of the statistics and the thresholds of ``judges.yaml`` (:func:`load_thresholds`,
:func:`label_evidence`, :func:`decide`, :func:`decision_table`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .agreement_with_humans import AGREEMENT_COEFFICIENTS, coefficient

_NAN = math.nan


DECISIONS = ("replace", "assist", "must_not_use")


DEFAULT_THRESHOLDS: dict = {
    "coefficient": "krippendorff_alpha",
    "min_items": 100,
    "must_not_use": {"min_agreement": 0.667, "blind_spot_recall": 0.5},
    "replace": {
        "min_agreement_ci_low": 0.8,
        "max_gap_to_humans": 0.02,
        "min_category_recall": 0.7,
        "max_length_bias": 0.5,
        "max_label_shift": 0.05,
        "require_human_benchmark": True,
    },
    "preferences": {"min_kappa": 0.0, "max_win_rate_gap": 5.0, "max_position_bias": 0.05, "max_length_bias": 0.5},
    "tasks": {},
    "families": {},  # model family of judge ids and judged models: self-preference where known
}


_SECTIONS = ("must_not_use", "replace", "preferences")


def _validate_thresholds(thr: dict, source: str) -> dict:
    known = set(DEFAULT_THRESHOLDS)
    unknown = set(thr) - known
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {sorted(unknown)}; expected {sorted(known)}")
    out = json.loads(json.dumps(DEFAULT_THRESHOLDS))
    for key, value in thr.items():
        if key in _SECTIONS:
            if not isinstance(value, dict):
                raise ValueError(f"{source}: {key!r} must be a mapping")
            bad = set(value) - set(DEFAULT_THRESHOLDS[key])
            if bad:
                raise ValueError(
                    f"{source}: unknown key(s) {sorted(bad)} under {key!r}; expected {sorted(DEFAULT_THRESHOLDS[key])}"
                )
            for k, v in value.items():
                default = DEFAULT_THRESHOLDS[key][k]
                if isinstance(default, bool):
                    if not isinstance(v, bool):
                        raise ValueError(f"{source}: {key}.{k} must be true or false, not {v!r}")
                elif not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                    raise ValueError(f"{source}: {key}.{k} must be a non-negative number, not {v!r}")
            out[key].update(value)
        elif key == "tasks":
            if not isinstance(value, dict):
                raise ValueError(f"{source}: 'tasks' must map task names to overrides")
            for task, over in value.items():
                if not isinstance(over, dict) or set(over) - set(_SECTIONS) - {"min_items"}:
                    raise ValueError(f"{source}: tasks.{task} may override {sorted(_SECTIONS)} and min_items only")
                _validate_thresholds(over, f"{source}: tasks.{task}")
            out["tasks"] = value
        elif key == "families":
            if value is None:
                value = {}
            if not isinstance(value, dict):
                raise ValueError(f"{source}: 'families' must map judge ids and model names to their model family")
            for name, fam in value.items():
                if not isinstance(fam, str) or not fam.strip():
                    raise ValueError(f"{source}: families.{name} must be a family name (text), not {fam!r}")
            out["families"] = {str(k): v.strip() for k, v in value.items()}
        elif key == "coefficient":
            if value not in AGREEMENT_COEFFICIENTS:
                raise ValueError(f"{source}: coefficient must be one of {AGREEMENT_COEFFICIENTS}, not {value!r}")
            out[key] = value
        elif key == "min_items":
            if not isinstance(value, int) or isinstance(value, bool) or value < 2:
                raise ValueError(f"{source}: min_items must be an integer of at least 2, not {value!r}")
            out[key] = value
    return out


def load_thresholds(path: str | Path | None = None) -> dict:
    """Decision thresholds from a YAML file (default: ``judges.yaml`` in the project
    root, else the built-in :data:`DEFAULT_THRESHOLDS`). Unknown keys, wrong types
    and negative numbers are errors naming the file and key."""
    import yaml

    from .. import paths

    if path is None:
        candidate = paths.project_root() / "judges.yaml"
        if not candidate.exists():
            return {**json.loads(json.dumps(DEFAULT_THRESHOLDS)), "source": "built-in defaults"}
        path = candidate
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{p}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{p}: expected a mapping of thresholds at the top level")
    raw.pop("name", None)
    raw.pop("description", None)
    return {**_validate_thresholds(raw, str(p)), "source": str(p)}


def thresholds_for(thr: dict, task: str | None) -> dict:
    """The thresholds with ``tasks: {task: ...}`` overrides applied."""
    out = json.loads(json.dumps({k: v for k, v in thr.items() if k != "tasks"}))
    over = (thr.get("tasks") or {}).get(task) or {}
    for key, value in over.items():
        if isinstance(value, dict):
            out[key].update(value)
        else:
            out[key] = value
    return out


def _fmt_ci(est: float, lo: float, hi: float, pct: bool = False, digits: int = 2) -> str:
    if not math.isfinite(est):
        return "n/a"
    if pct:
        return f"{est * 100:.0f}% ({lo * 100:.0f}-{hi * 100:.0f}%)" if math.isfinite(lo) else f"{est * 100:.0f}%"
    return f"{est:.{digits}f} ({lo:.{digits}f} to {hi:.{digits}f})" if math.isfinite(lo) else f"{est:.{digits}f}"


def label_evidence(
    compare: dict,
    gap: dict | None = None,
    length: pd.DataFrame | None = None,
    coefficient_name: str = "krippendorff_alpha",
) -> dict:
    """The numbers a label decision rests on, from :func:`judge_vs_reference` (and
    :func:`gap_to_humans`, :func:`length_bias_labels`)."""
    c = coefficient(compare, coefficient_name)
    pc = compare["per_category"]
    defined = pc[pc["recall"].notna()]
    worst = defined.sort_values("recall").iloc[0] if len(defined) else None
    ev = {
        "kind": "labels",
        "n_items": compare["n_items"],
        "coefficient": coefficient_name,
        "agreement": c["estimate"],
        "agreement_ci_low": c["ci_low"],
        "agreement_ci_high": c["ci_high"],
        "percent_agreement": coefficient(compare, "percent_agreement")["estimate"],
        "min_recall_category": None if worst is None else worst["category"],
        "min_recall": _NAN if worst is None else float(worst["recall"]),
        "min_recall_ci_low": _NAN if worst is None else float(worst["recall_ci_low"]),
        "min_recall_ci_high": _NAN if worst is None else float(worst["recall_ci_high"]),
        "recall": {
            r.category: (r.recall, r.recall_ci_low, r.recall_ci_high, int(r.n_reference)) for r in defined.itertuples()
        },
    }
    sig = pc[(pc["p_adjusted"] < 0.05)]
    big = sig.reindex(sig["shift"].abs().sort_values(ascending=False).index)
    ev["max_label_shift"] = float(big["shift"].iloc[0]) if len(big) else 0.0
    ev["max_label_shift_category"] = big["category"].iloc[0] if len(big) else None
    ev["gap_to_humans"] = _NAN if gap is None else gap.get("estimate", _NAN)
    ev["gap_ci_low"] = _NAN if gap is None else gap.get("ci_low", _NAN)
    ev["gap_ci_high"] = _NAN if gap is None else gap.get("ci_high", _NAN)
    lb = length if length is not None else compare.get("length_bias")
    # a length effect counts only when significant after the correction across categories
    sig_lb = None if lb is None or not len(lb) else lb[lb["estimate"].notna() & (lb["p_adjusted"] < 0.05)]
    if sig_lb is None or not len(sig_lb):
        sig_lb = None if lb is None or not len(lb) else lb[lb["estimate"].notna()]
    if sig_lb is not None and len(sig_lb):
        row = sig_lb.loc[sig_lb["estimate"].abs().idxmax()]
        ev.update(
            {
                "length_bias": float(row["estimate"]),
                "length_bias_ci_low": float(row["ci_low"]),
                "length_bias_ci_high": float(row["ci_high"]),
                "length_bias_category": row["category"],
                "length_bias_p_adjusted": float(row["p_adjusted"]),
                "length_bias_unit": row.get("unit"),
            }
        )
    else:
        ev.update(
            {"length_bias": _NAN, "length_bias_ci_low": _NAN, "length_bias_ci_high": _NAN, "length_bias_category": None}
        )
    return ev


def _excludes_zero_beyond(est: float, lo: float, hi: float, limit: float) -> bool:
    """A bias that is both real (interval excludes 0) and larger than ``limit`` in size."""
    return math.isfinite(est) and math.isfinite(lo) and (lo > 0 or hi < 0) and abs(est) > limit


def blind_spots(evidence: dict, thresholds: dict) -> list[tuple[str, tuple]]:
    """Categories the judge mostly misses: recall estimated below
    ``must_not_use.blind_spot_recall`` *and* its upper 95% bound below
    ``replace.min_category_recall`` (so a small sample alone cannot make one)."""
    m, r = thresholds["must_not_use"], thresholds["replace"]
    return [
        (cat, v)
        for cat, v in evidence.get("recall", {}).items()
        if math.isfinite(v[0])
        and v[0] < m["blind_spot_recall"]
        and math.isfinite(v[2])
        and v[2] < r["min_category_recall"]
    ]


def decide(evidence: dict, thresholds: dict, task: str | None = None) -> dict:
    """replace / assist / must_not_use for one task, with the reasons.

    Labels (``evidence['kind'] == 'labels'``), checked in this order:

    * **must_not_use** when fewer than ``min_items`` items have both labels; when
      the agreement estimate is below ``must_not_use.min_agreement``; or when some
      category is a blind spot (:func:`blind_spots`: recall below
      ``must_not_use.blind_spot_recall`` and its upper 95% bound below
      ``replace.min_category_recall``): the judge misses most of that category, so
      using it would silently drop those items.
    * **replace** when the agreement's lower 95% bound reaches
      ``replace.min_agreement_ci_low``; every category's recall is at least
      ``replace.min_category_recall``; the judge trails a typical human by no more
      than ``replace.max_gap_to_humans`` (lower bound of judge - human); no length
      bias beyond ``replace.max_length_bias`` (interval excluding 0); no label shift
      beyond ``replace.max_label_shift`` (significant after Holm). Without a human
      benchmark (no gap) replacement is not granted when
      ``replace.require_human_benchmark``.
    * **assist** otherwise: usable as a pre-label or second opinion with people deciding.

    Preferences (``kind == 'preferences'``): must_not_use when Cohen's kappa with
    the reference judge is below ``preferences.min_kappa`` or the win-rate gap is
    real and larger than ``max_win_rate_gap`` points; replace when no position bias
    (first-wins share beyond 0.5 +- ``max_position_bias``), no excess length bias
    beyond ``max_length_bias`` and the gap interval lies within +-``max_win_rate_gap``;
    else assist.
    """
    t = thresholds_for(thresholds, task)
    reasons: list[str] = []
    if evidence.get("kind") == "preferences":
        p = t["preferences"]
        k, _klo = evidence.get("kappa", _NAN), evidence.get("kappa_ci_low", _NAN)
        g, glo, ghi = (evidence.get(x, _NAN) for x in ("win_rate_gap", "win_rate_gap_ci_low", "win_rate_gap_ci_high"))
        if evidence.get("n_items", 0) < t["min_items"]:
            return {
                "decision": "must_not_use",
                "reasons": [f"only {evidence.get('n_items', 0)} pairs judged by both (min_items {t['min_items']})"],
            }
        if math.isfinite(k) and k < p["min_kappa"]:
            reasons.append(f"kappa with the reference judge {k:.2f} < {p['min_kappa']}")
        if _excludes_zero_beyond(g, glo, ghi, p["max_win_rate_gap"]):
            reasons.append(
                f"win-rate gap {g:+.1f} points (CI {glo:+.1f} to {ghi:+.1f}) beyond +-{p['max_win_rate_gap']}"
            )
        if reasons:
            return {"decision": "must_not_use", "reasons": reasons}
        fw, flo, fhi = (evidence.get(x, _NAN) for x in ("first_wins", "first_wins_ci_low", "first_wins_ci_high"))
        if "position_excess" in evidence:
            # the first-shown answer's win rate beyond the people's on the same pairs (a fixed order needs this
            # benchmark instead of 0.5): judge minus people, as a share
            px, pxlo, pxhi = (
                evidence.get(x, _NAN) for x in ("position_excess", "position_excess_ci_low", "position_excess_ci_high")
            )
            if _excludes_zero_beyond(px, pxlo, pxhi, p["max_position_bias"]):
                reasons.append(
                    f"position bias: the first-shown answer's win rate is {px * 100:+.1f} points "
                    f"(CI {pxlo * 100:+.1f} to {pxhi * 100:+.1f}) above the people's"
                )
        elif _excludes_zero_beyond(fw - 0.5, flo - 0.5, fhi - 0.5, p["max_position_bias"]):
            reasons.append(
                f"position bias: the first-shown answer wins {fw * 100:.0f}% "
                f"({flo * 100:.0f}-{fhi * 100:.0f}%) of decisive verdicts"
            )
        hg, hglo = evidence.get("gap_to_humans", _NAN), evidence.get("gap_ci_low", _NAN)
        if "gap_to_humans" in evidence and not math.isfinite(hg) and t["replace"]["require_human_benchmark"]:
            # pairs judged by people in a file: one person per pair gives no human benchmark
            reasons.append("no human benchmark (two or more people's verdicts per pair)")
        if math.isfinite(hg) and hglo < -t["replace"]["max_gap_to_humans"]:
            # with several people per pair there is a human benchmark: the judge must not trail a typical person
            reasons.append(
                f"trails a typical person by up to {-hglo:.3f} (gap {hg:+.3f}, lower bound {hglo:+.3f}; "
                f"allowed {t['replace']['max_gap_to_humans']})"
            )
        lb, llo, lhi = (evidence.get(x, _NAN) for x in ("length_bias", "length_bias_ci_low", "length_bias_ci_high"))
        if _excludes_zero_beyond(lb, llo, lhi, p["max_length_bias"]):
            reasons.append(
                f"length bias beyond the reference judge {lb:+.2f} log-odds per log length ratio "
                f"(CI {llo:+.2f} to {lhi:+.2f})"
            )
        if not (math.isfinite(glo) and -p["max_win_rate_gap"] <= glo and ghi <= p["max_win_rate_gap"]):
            reasons.append(
                f"win-rate gap {g:+.1f} points (CI {glo:+.1f} to {ghi:+.1f}) not shown within +-{p['max_win_rate_gap']}"
            )
        return {"decision": "assist" if reasons else "replace", "reasons": reasons or ["no bias beyond the thresholds"]}

    n = evidence.get("n_items", 0)
    m, r = t["must_not_use"], t["replace"]
    if n < t["min_items"]:
        return {
            "decision": "must_not_use",
            "reasons": [f"only {n} items with both labels (min_items {t['min_items']})"],
        }
    a, alo = evidence["agreement"], evidence["agreement_ci_low"]
    name = evidence.get("coefficient", "agreement")
    if not math.isfinite(a):
        reasons.append(f"{name} undefined")
    elif a < m["min_agreement"]:
        reasons.append(f"{name} {a:.2f} < {m['min_agreement']}")
    for cat, (est, lo, hi, nref) in blind_spots(evidence, t):
        reasons.append(
            f"blind spot on {cat!r}: recall {est * 100:.0f}% ({lo * 100:.0f}-{hi * 100:.0f}%, "
            f"n = {nref}), below {m['blind_spot_recall'] * 100:.0f}% and shown below "
            f"{r['min_category_recall'] * 100:.0f}%"
        )
    if reasons:
        return {"decision": "must_not_use", "reasons": reasons}
    if not (math.isfinite(alo) and alo >= r["min_agreement_ci_low"]):
        reasons.append(f"{name} lower bound {alo:.2f} < {r['min_agreement_ci_low']}")
    low = [(cat, v) for cat, v in evidence.get("recall", {}).items() if v[0] < r["min_category_recall"]]
    for cat, (est, _lo, _hi, _nref) in low:
        reasons.append(f"recall on {cat!r} {est * 100:.0f}% < {r['min_category_recall'] * 100:.0f}%")
    g, glo = evidence.get("gap_to_humans", _NAN), evidence.get("gap_ci_low", _NAN)
    if math.isfinite(g):
        if glo < -r["max_gap_to_humans"]:
            reasons.append(
                f"trails a typical human by up to {-glo:.3f} (gap {g:+.3f}, lower bound {glo:+.3f}; "
                f"allowed {r['max_gap_to_humans']})"
            )
    elif r["require_human_benchmark"]:
        reasons.append("no human benchmark (human ratings scored against the same reference)")
    lb, llo, lhi = (evidence.get(x, _NAN) for x in ("length_bias", "length_bias_ci_low", "length_bias_ci_high"))
    # a length effect blocks replacement only when significant after Holm across categories (docs/judges.md);
    # label_evidence keeps the largest unadjusted one for display, with its adjusted p
    lb_p = evidence.get("length_bias_p_adjusted", 0.0)
    lb_p = 0.0 if lb_p is None or not math.isfinite(lb_p) else lb_p
    if _excludes_zero_beyond(lb, llo, lhi, r["max_length_bias"]) and lb_p < 0.05:
        reasons.append(
            f"length bias {lb:+.2f} (CI {llo:+.2f} to {lhi:+.2f}) on {evidence.get('length_bias_category')!r}"
        )
    shift = evidence.get("max_label_shift", 0.0)
    if math.isfinite(shift) and abs(shift) > r["max_label_shift"]:
        reasons.append(
            f"uses {evidence.get('max_label_shift_category')!r} {shift * 100:+.0f} points "
            f"{'more' if shift > 0 else 'less'} often than the reference"
        )
    return {
        "decision": "assist" if reasons else "replace",
        "reasons": reasons or ["agreement, recall, human benchmark and biases within the thresholds"],
    }


def evidence_sentence(evidence: dict) -> str:
    """The evidence in one line, for the decision table."""

    def est(key: str, **fmt) -> str:
        return _fmt_ci(
            evidence.get(key, _NAN), evidence.get(f"{key}_ci_low", _NAN), evidence.get(f"{key}_ci_high", _NAN), **fmt
        )

    if evidence.get("kind") == "preferences":
        parts = [
            f"n = {evidence.get('n_items', 0)} pairs",
            f"kappa {est('kappa')}",
            f"first-shown wins {est('first_wins', pct=True)}",
            f"excess length bias {est('length_bias')}",
            f"win-rate gap {est('win_rate_gap', digits=1)} points",
        ]
        return "; ".join(parts)
    parts = [
        f"n = {evidence['n_items']}",
        f"{evidence['coefficient']} {est('agreement')}",
        f"lowest recall {evidence['min_recall_category']!s} {est('min_recall', pct=True)}",
    ]
    if math.isfinite(evidence.get("gap_to_humans", _NAN)):
        parts.append(
            "vs humans " + _fmt_ci(evidence["gap_to_humans"], evidence["gap_ci_low"], evidence["gap_ci_high"], digits=3)
        )
    if math.isfinite(evidence.get("length_bias", _NAN)):
        parts.append(f"length bias {est('length_bias')}")
    return "; ".join(parts)


def decision_table(evidences: Mapping[str, dict], thresholds: dict) -> pd.DataFrame:
    """One row per task: decision, reasons and the evidence beside it."""
    rows = []
    for task, ev in evidences.items():
        d = decide(ev, thresholds, task)
        rows.append(
            {
                "task": task,
                "kind": ev.get("kind", "labels"),
                "decision": d["decision"],
                "reasons": "; ".join(d["reasons"]),
                "evidence": evidence_sentence(ev),
                "n": ev.get("n_items", 0),
                "agreement": ev.get("agreement", ev.get("kappa", _NAN)),
                "agreement_ci_low": ev.get("agreement_ci_low", ev.get("kappa_ci_low", _NAN)),
                "agreement_ci_high": ev.get("agreement_ci_high", ev.get("kappa_ci_high", _NAN)),
            }
        )
    return pd.DataFrame(rows)
