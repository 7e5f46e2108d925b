"""The composite score of two model versions in the warehouse: uplift with an item bootstrap, and the gate."""

from __future__ import annotations

from .composite import composite_gate, composite_uplift, load_composite_config, weights_of


def composite_study(wh, candidate: str, baseline: str, *, suite: str | None = None, composite=None) -> dict:
    """Composite uplift of ``candidate`` over ``baseline`` on the items both were evaluated on
    (``eval_results`` rows of the composite's metrics; one suite when given) and the gate's verdict.

    Raises ValueError when a version has no evaluation results at all."""
    cfg = composite if isinstance(composite, dict) else load_composite_config(composite)
    weights = weights_of(cfg)
    where, params = ["model_version IN (?, ?)", "score IS NOT NULL"], [candidate, baseline]
    if suite:
        where.append("suite = ?")
        params.append(suite)
    frame = wh.query(
        f"SELECT model_version, item_id, metric, score FROM eval_results WHERE {' AND '.join(where)}", params
    )
    for version in (candidate, baseline):
        if not (frame["model_version"] == version).any():
            raise ValueError(f"no eval_results for {version!r}" + (f" in suite {suite!r}" if suite else ""))
    g = cfg["gate"]
    up = composite_uplift(
        frame[frame["model_version"] == candidate],
        frame[frame["model_version"] == baseline],
        weights,
        n_boot=int(g.get("n_boot", 2000)),
        seed=int(g.get("seed", 0)),
    )
    gate = composite_gate(up, float(g.get("margin_points", 1.0)))
    return {
        "candidate": candidate,
        "baseline": baseline,
        "suite": suite,
        "weights": weights,
        "config": cfg.get("source"),
        "uplift": up,
        "gate": gate,
    }
