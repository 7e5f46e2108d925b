"""Agreement broken down: per category, per rater pair, leaving each rater out, within subgroups.

Same conventions as :mod:`trainerlab.agreement.coefficients`: long ratings or a
:class:`~trainerlab.ratings.Ratings` in, a tidy frame out with estimates,
intervals (unit bootstrap, Wilson, or Fleiss-Cohen-Everitt), ``n`` and a
``reason`` wherever a value is undefined.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ..ratings.encoding import Ratings, _with_level, prepare_ratings
from ..stats import wilson_interval
from .bootstrap import _bootstrap, _Family, _interval, _resample, _unique_rows
from .coefficients import _count_family, _count_features, _count_stat, _delta, _weights_name, weight_matrix
from .standard_errors import _gwet_se_table


def per_category_agreement(
    df, item="item", rater="rater", label="label", categories=None, n_boot=1000, seed=0, ci=0.95
) -> pd.DataFrame:
    """Agreement on each category.

    ``kappa`` is Fleiss' (1971) category kappa, the kappa of the data collapsed
    to "this category or not": ``1 - mean_i[r_ik (r_i - r_ik) / (r_i (r_i - 1))] / (pi_k (1 - pi_k))``
    (with equal ratings per unit, the pi_k(1-pi_k)-weighted mean of the category
    kappas is the overall kappa). ``specific_agreement`` is ``o_kk / n_k`` from the
    coincidence matrix: given one rating of k, the chance that another rating of
    the same unit is also k (positive specific agreement for two raters).
    """
    R = df if isinstance(df, Ratings) else prepare_ratings(df, item, rater, label, categories, "nominal")
    W = np.eye(R.q)
    fam, _ = _count_family(R, W, per_category=True)
    fam.stat = _count_stat(R.q, W, "nominal", R.values, per_category=True)
    pt = fam.point()
    reps = _bootstrap(fam, n_boot, seed, 3) if n_boot > 0 else {}
    counts = R.counts()
    rows = []
    for k, cat in enumerate(R.categories):
        row = {"category": cat, "n_ratings": int(counts[:, k].sum()), "prevalence": pt[f"prevalence[{k}]"]}
        for key, col in (("kappa", "kappa"), ("specific", "specific_agreement")):
            est = pt[f"{key}[{k}]"]
            lo = hi = math.nan
            if n_boot > 0:
                lo, hi, _ = _interval(reps[f"{key}[{k}]"], est, ci, "percentile")
            row[col] = est
            row[f"{col}_ci_low"] = lo
            row[f"{col}_ci_high"] = hi
        row["reason"] = (
            None
            if np.isfinite(row["kappa"])
            else ("category never used" if row["n_ratings"] == 0 else "category used in every rating")
        )
        rows.append(row)
    out = pd.DataFrame(rows)
    out["n_units"] = int((counts.sum(1) >= 2).sum())
    out["method"] = (
        f"Fleiss (1971) category kappa and coincidence-matrix specific agreement; "
        f"unit bootstrap percentile CI, {n_boot} replicates, seed {seed}"
    )
    return out


def _wilson(k: np.ndarray, n: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson limits at confidence ``level`` (trainerlab.stats; NaN where n = 0)."""
    return wilson_interval(np.asarray(k, dtype=float), np.asarray(n, dtype=float), 1 - level)


def pairwise_agreement(
    df, item="item", rater="rater", label="label", weights=None, categories=None, ci=0.95, min_common: int = 1
) -> pd.DataFrame:
    """Agreement of every pair of raters on the items both rated.

    One row per pair: ``n_common``, ``percent_agreement`` with a Wilson interval
    (unweighted), and Cohen's kappa (weighted when asked) with the Fleiss, Cohen &
    Everitt (1969) analytic interval. Pairs with fewer than ``min_common`` shared
    items, or whose kappa is undefined, get NaN with a reason.
    """
    R = df if isinstance(df, Ratings) else prepare_ratings(df, item, rater, label, categories, "nominal")
    W = weight_matrix(R.q, weights)
    q, nr = R.q, R.n_raters
    order = np.lexsort((R.rater, R.unit))
    u, g, l = R.unit[order], R.rater[order], R.label[order]
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
    sizes = np.diff(np.r_[starts, len(u)])
    cells = np.zeros(nr * nr * q * q, dtype=np.int64)
    for m in np.unique(sizes):
        if m < 2:
            continue
        st = starts[sizes == m]
        for a in range(m):
            for b in range(a + 1, m):
                ia, ib = st + a, st + b
                code = ((g[ia] * nr + g[ib]) * q + l[ia]) * q + l[ib]
                cells += np.bincount(code, minlength=len(cells))
    tabs = cells.reshape(nr, nr, q, q)
    z = ndtri(1 - (1 - ci) / 2)
    rows = []
    for a in range(nr):
        for b in range(a + 1, nr):
            tab = tabs[a, b] + tabs[b, a].T
            n = int(tab.sum())
            agree = int(np.trace(tab))
            row = {
                "rater_a": R.raters[a],
                "rater_b": R.raters[b],
                "n_common": n,
                "percent_agreement": agree / n if n else math.nan,
            }
            lo, hi = _wilson(np.array([agree]), np.array([n]), ci)
            row["pa_ci_low"], row["pa_ci_high"] = float(lo[0]), float(hi[0])
            reason = None
            if n < max(min_common, 2):
                kappa = se = math.nan
                reason = f"only {n} shared items"
            else:
                kappa, se, _ = _gwet_se_table(tab, W, "cohen")
                if not np.isfinite(kappa):
                    reason = "chance agreement is 1 (both raters used one category)"
            row["kappa"] = kappa
            row["kappa_ci_low"] = max(-1.0, kappa - z * se) if np.isfinite(se) else math.nan
            row["kappa_ci_high"] = min(1.0, kappa + z * se) if np.isfinite(se) else math.nan
            row["reason"] = reason
            rows.append(row)
    out = pd.DataFrame(
        rows,
        columns=[
            "rater_a",
            "rater_b",
            "n_common",
            "percent_agreement",
            "pa_ci_low",
            "pa_ci_high",
            "kappa",
            "kappa_ci_low",
            "kappa_ci_high",
            "reason",
        ],
    )
    out["method"] = (
        "Cohen's kappa per rater pair on shared items"
        + ("" if _weights_name(weights) == "none" else f" ({_weights_name(weights)} weights)")
        + "; Wilson CI for percent agreement, "
        "Fleiss-Cohen-Everitt SE for kappa"
    )
    return out


def pairwise_matrix(pairs: pd.DataFrame, value: str = "kappa") -> pd.DataFrame:
    """The symmetric rater x rater matrix of one column of :func:`pairwise_agreement` (diagonal NaN)."""
    names = sorted(set(pairs["rater_a"]) | set(pairs["rater_b"]), key=str)
    mat = pd.DataFrame(np.nan, index=names, columns=names)
    for row in pairs.itertuples(index=False):
        v = getattr(row, value)
        mat.loc[row.rater_a, row.rater_b] = v
        mat.loc[row.rater_b, row.rater_a] = v
    return mat


def _alpha_pair_family(counts_full: np.ndarray, counts_part: np.ndarray, level: str, values: np.ndarray) -> _Family:
    """Paired family: alpha on the full data and on a modified copy (same units), for differences."""
    q = counts_full.shape[1]
    key = np.concatenate([counts_full, counts_part], axis=1)
    rows, inverse, freq = _unique_rows(key)
    eye = np.eye(q)
    f1 = _count_features(rows[:, :q], eye)[:, 3 + 2 * q : 3 + 2 * q + q * q]
    f2 = _count_features(rows[:, q:], eye)[:, 3 + 2 * q : 3 + 2 * q + q * q]

    def alpha_of(coinc):
        n_k = coinc.sum(2)
        N = n_k.sum(1)
        d = _delta(level, values, n_k)
        with np.errstate(invalid="ignore", divide="ignore"):
            d_o = np.sum(coinc * d, axis=(1, 2))
            d_e = np.sum(n_k[:, :, None] * d * n_k[:, None, :], axis=(1, 2)) / np.where(N > 1, N - 1, np.nan)
            return np.where((N >= 2) & (d_e > 1e-12), 1 - d_o / np.where(d_e > 0, d_e, 1), np.nan)

    def stat(T):
        T = np.atleast_2d(T)
        a = alpha_of(T[:, : q * q].reshape(-1, q, q))
        b = alpha_of(T[:, q * q :].reshape(-1, q, q))
        return {"full": a, "part": b, "delta": b - a}

    return _Family(np.concatenate([f1, f2], axis=1), freq, stat, inverse)


def leave_one_rater_out(
    df, item="item", rater="rater", label="label", level="nominal", categories=None, n_boot=1000, seed=0, ci=0.95
) -> pd.DataFrame:
    """Change in Krippendorff's alpha when each rater's ratings are removed.

    ``delta = alpha_without - alpha_all``: positive means the data are more
    reliable without that rater. The interval is a paired unit bootstrap of the
    difference (same resampled units for both alphas).
    """
    R = (
        _with_level(df, level)
        if isinstance(df, Ratings)
        else prepare_ratings(df, item, rater, label, categories, level)
    )
    counts = R.counts()
    rows = []
    for g in range(R.n_raters):
        mine = R.rater == g
        part = counts.copy()
        np.subtract.at(part, (R.unit[mine], R.label[mine]), 1)
        fam = _alpha_pair_family(counts, part, level, R.values)
        pt = fam.point()
        lo = hi = math.nan
        if n_boot > 0:
            reps = _bootstrap(fam, n_boot, seed, 100 + g)
            lo, hi, _ = _interval(reps["delta"], pt["delta"], ci, "percentile")
        rows.append(
            {
                "rater": R.raters[g],
                "n_ratings": int(mine.sum()),
                "alpha_all": pt["full"],
                "alpha_without": pt["part"],
                "delta": pt["delta"],
                "ci_low": lo,
                "ci_high": hi,
                "reason": None if np.isfinite(pt["part"]) else "alpha undefined without this rater",
            }
        )
    out = pd.DataFrame(rows)
    out["method"] = (
        f"Krippendorff's alpha ({level}) without each rater minus with all; paired unit bootstrap "
        f"percentile CI, {n_boot} replicates, seed {seed}"
    )
    return out.sort_values("delta", ascending=False, kind="stable").reset_index(drop=True)


def subgroup_alpha(
    df,
    group: str,
    item="item",
    rater="rater",
    label="label",
    level="nominal",
    categories=None,
    expected: str = "global",
    n_boot=1000,
    seed=0,
    ci=0.95,
) -> pd.DataFrame:
    """Krippendorff's alpha within subgroups of units (e.g. intent, language, week).

    ``expected='global'`` divides each subgroup's observed disagreement by the
    expected disagreement of *all* the data, so that a subgroup whose units happen
    to use few categories is not penalised for its narrow range; ``'own'`` uses
    the subgroup's own marginals (plain alpha on the subset). The bootstrap
    resamples units within each subgroup (stratified). ``group`` must be constant
    within an item.
    """
    if expected not in ("global", "own"):
        raise ValueError("expected must be 'global' or 'own'")
    R = (
        _with_level(df, level)
        if isinstance(df, Ratings)
        else prepare_ratings(df, item, rater, label, categories, level, keep=[group])
    )
    if R.extra is None or group not in R.extra.columns:
        raise ValueError(f"column {group!r} not found")
    groups = R.extra[group].astype(object).where(R.extra[group].notna(), "(missing)")
    per_unit = pd.DataFrame({"u": R.unit, "g": groups.to_numpy()}).drop_duplicates()
    if per_unit["u"].duplicated().any():
        bad = R.units[per_unit.loc[per_unit["u"].duplicated(), "u"].iloc[0]]
        raise ValueError(f"column {group!r} varies within item {bad!r}; a subgroup must be a set of items")
    gcodes, gnames = pd.factorize(per_unit.sort_values("u")["g"], sort=True)
    G = len(gnames)
    counts = R.counts()
    q = R.q
    key = np.concatenate([gcodes[:, None], counts], axis=1)
    rows_, inverse, freq = _unique_rows(key)
    coinc = _count_features(rows_[:, 1:], np.eye(q))[:, 3 + 2 * q : 3 + 2 * q + q * q]
    P = len(freq)
    feats = np.zeros((P, (G + 1) * q * q))
    for gi in range(G):
        m = rows_[:, 0] == gi
        feats[m, gi * q * q : (gi + 1) * q * q] = coinc[m]
    feats[:, G * q * q :] = coinc
    values = R.values

    def stat(T):
        T = np.atleast_2d(T)
        out = {}
        glob = T[:, G * q * q :].reshape(-1, q, q)
        gn = glob.sum(2)
        gN = gn.sum(1)
        gd = _delta(level, values, gn)
        with np.errstate(invalid="ignore", divide="ignore"):
            g_de = np.sum(gn[:, :, None] * gd * gn[:, None, :], axis=(1, 2)) / (gN * (gN - 1))
            for gi in range(G):
                o = T[:, gi * q * q : (gi + 1) * q * q].reshape(-1, q, q)
                nk = o.sum(2)
                N = nk.sum(1)
                if expected == "own":
                    d = _delta(level, values, nk)
                    de = np.sum(nk[:, :, None] * d * nk[:, None, :], axis=(1, 2)) / (N * (N - 1))
                else:
                    d, de = gd, g_de
                do = np.sum(o * d, axis=(1, 2)) / N
                out[str(gi)] = np.where((N >= 2) & (de > 1e-12), 1 - do / np.where(de > 0, de, 1), np.nan)
        return out

    fam = _Family(feats, freq, stat)
    pt = fam.point()
    reps = {}
    if n_boot > 0:
        rng = np.random.default_rng([int(seed), 4])
        parts: dict[str, list] = {}
        for cnt in _resample(freq, n_boot, rng, strata=rows_[:, 0]):
            for k, v in stat(fam.totals(cnt)).items():
                parts.setdefault(k, []).append(v)
        reps = {k: np.concatenate(v) for k, v in parts.items()}
    out = []
    pairable = counts.sum(1) >= 2
    for gi, name in enumerate(gnames):
        est = pt[str(gi)]
        lo = hi = math.nan
        if n_boot > 0:
            lo, hi, _ = _interval(reps[str(gi)], est, ci, "percentile")
        n_units = int(((gcodes == gi) & pairable).sum())
        out.append(
            {
                "group": name,
                "estimate": est,
                "ci_low": lo,
                "ci_high": hi,
                "n_units": n_units,
                "reason": None
                if np.isfinite(est)
                else ("fewer than two pairable values" if n_units == 0 else "no variation in this subgroup"),
            }
        )
    frame = pd.DataFrame(out)
    frame["expected"] = expected
    frame["method"] = (
        f"Krippendorff's alpha ({level}) per subgroup, {expected} expected disagreement; "
        f"stratified unit bootstrap, {n_boot} replicates, seed {seed}"
    )
    return frame
