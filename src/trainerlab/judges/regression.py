"""The regression fits behind the bias and length-control statistics: a binomial GLM
(or OLS) with robust or item-clustered covariance that returns NaN reasons instead of
raising on separation, and one coefficient of a fit as a tidy dict.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd


def _fit_glm(
    y: np.ndarray,
    X: np.ndarray,
    names: list[str],
    cluster: np.ndarray | None = None,
    fractional: bool = False,
    family: str = "binomial",
) -> tuple[Any, str | None, str]:
    """A statsmodels GLM (binomial) or OLS fit with robust or clustered covariance.

    Returns (result or None, reason when it failed, covariance description).
    """
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.regression.linear_model import OLS

    if cluster is not None and len(np.unique(cluster)) < len(cluster):
        cov, kw, what = "cluster", {"groups": pd.factorize(cluster)[0]}, "cluster-robust by item"
    elif fractional or family == "ols":
        cov, kw, what = "HC0" if family != "ols" else "HC3", {}, ("robust (HC0)" if family != "ols" else "HC3")
    else:
        cov, kw, what = "nonrobust", {}, "model-based"
    frame = pd.DataFrame(X, columns=names)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if family == "ols":
                res = OLS(y, frame).fit(cov_type=cov, cov_kwds=kw or None)
            else:
                res = GLM(y, frame, family=Binomial()).fit(cov_type=cov, cov_kwds=kw or None)
    except Exception as exc:  # noqa: BLE001 - perfect separation, singular design: NaN with the reason
        return None, f"the model could not be fitted ({type(exc).__name__}: {exc})", what
    if family != "ols" and not getattr(res, "converged", True):
        return None, "the logistic fit did not converge (separation?)", what
    return res, None, what


def _coef(res, name: str, alpha: float = 0.05) -> dict:
    est = float(res.params[name])
    se = float(res.bse[name])
    lo, hi = (float(v) for v in res.conf_int(alpha).loc[name])
    return {"estimate": est, "se": se, "ci_low": lo, "ci_high": hi, "p_value": float(res.pvalues[name])}
