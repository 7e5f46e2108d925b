"""Difference-in-differences with cluster-robust standard errors."""

from __future__ import annotations

import pandas as pd

from .results import _require_columns, _undefined

__all__ = ["diff_in_diff"]


def diff_in_diff(frame: pd.DataFrame, outcome: str, treated: str, post: str, cluster: str, alpha: float = 0.05) -> dict:
    """Difference-in-differences with cluster-robust standard errors (statsmodels OLS).

    Fits ``outcome ~ treated + post + treated:post`` and reports the interaction
    (the change among the treated beyond the change among the controls), e.g.
    raters coached vs not coached, before vs after. ``cluster`` (e.g. the rater)
    makes the SE robust to repeated measures of the same unit; the naive OLS SE
    is reported beside it.
    """
    import statsmodels.formula.api as smf

    _require_columns(frame, [outcome, treated, post, cluster])
    data = frame[[outcome, treated, post, cluster]].dropna().copy()
    data.columns = ["y", "treated", "post", "cluster"]
    for col in ("treated", "post"):
        data[col] = data[col].astype(int)
        if set(data[col].unique()) - {0, 1}:
            raise ValueError(f"column {treated if col == 'treated' else post!r} must be 0/1 or boolean")
    g = data["cluster"].nunique()
    if g < 2 or data.groupby(["treated", "post"]).size().size < 4:
        return _undefined("need both groups before and after, and at least two clusters", n=len(data))
    model = smf.ols("y ~ treated * post", data=data)
    naive = model.fit()
    codes = pd.factorize(data["cluster"])[0]
    robust = model.fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
    term = "treated:post"
    low, high = robust.conf_int(alpha=alpha).loc[term]
    return {
        "estimate": float(robust.params[term]),
        "se": float(robust.bse[term]),
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": float(robust.pvalues[term]),
        "se_naive": float(naive.bse[term]),
        "n": int(len(data)),
        "n_clusters": int(g),
        "method": f"OLS difference-in-differences, cluster-robust SE by {cluster} (G={g}), t({g - 1})",
    }
