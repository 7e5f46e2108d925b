"""Inter-annotator agreement: every standard coefficient, with honest intervals.

Input is long format, one row per rating: ``item``, ``rater``, ``label``. Any
number of raters per item, missing ratings allowed, string or numeric labels,
and an explicit ordered category domain when given (recorded in every result:
R's ``irr`` silently drops unused categories and so reports other weighted
values).

Coefficients (all in Gwet's (2014) unified notation, ``(pa - pe) / (1 - pe)``):

========================  ==========================================================
``percent_agreement``     observed agreement ``pa`` (weighted when weights are given)
``cohen_kappa``           Cohen (1960, 1968); exactly two raters, units both rated
``scott_pi``              Scott (1955); chance from the pooled rating distribution
``fleiss_kappa``          Fleiss (1971); chance from the mean per-unit proportions
``conger_kappa``          Conger (1980); chance from each rater's own distribution
``brennan_prediger``      Brennan & Prediger (1981); uniform chance ``sum(W)/q**2``
``gwet_ac``               Gwet (2008) AC1 (unweighted) / AC2 (weighted)
``krippendorff_alpha``    Krippendorff (2011), coincidence matrix over pairable values
========================  ==========================================================

Uncertainty. Every coefficient gets a unit-level bootstrap interval (seeded),
a delete-one-unit jackknife standard error and, where Gwet (2014) published
one, his linearised analytic standard error. The bootstrap is fast because a
coefficient depends on the units only through sums of per-unit
contributions, and units with the same *rating pattern* contribute the same
amount. Resampling ``n`` units with replacement is the same as drawing the
pattern multiplicities from ``Multinomial(n, freq / n)``; a replicate then
costs one small matrix product over the distinct patterns (at most a few
hundred for 3-5 ratings in 5 categories), not a pass over the data. This is
exactly the unit bootstrap, not an approximation. Rater-specific coefficients
(Conger, Cohen, leave-one-rater-out) use patterns that include the rater, and
fall back to drawing unit indices when almost every unit is its own pattern.

Undefined is NaN with a ``reason`` (one category used, fewer than two
pairable values), never 0; one rater in total is an error; units with a
single rating are excluded from observed agreement and counted (``n_single``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from ..ratings.encoding import Ratings, _with_level, prepare_ratings
from . import bootstrap
from .bootstrap import _bootstrap, _Family, _grouped, _interval, _jackknife, _unique_rows
from .standard_errors import _gwet_se_conger, _gwet_se_counts, _gwet_se_table, _t_interval

WEIGHTS = ("none", "linear", "quadratic")
COEFFICIENTS = (
    "percent_agreement",
    "cohen_kappa",
    "scott_pi",
    "fleiss_kappa",
    "conger_kappa",
    "brennan_prediger",
    "gwet_ac",
    "krippendorff_alpha",
)
TIDY_COLUMNS = ["coefficient", "estimate", "ci_low", "ci_high", "n_units", "n_raters", "method", "reason"]


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------
@dataclass
class AgreementResult:
    """One coefficient with its uncertainty. ``estimate`` is NaN with ``reason`` when undefined.

    ``ci_low``/``ci_high`` are the bootstrap interval (NaN when ``n_boot=0``);
    ``se_gwet``/``gwet_ci_low``/``gwet_ci_high`` are Gwet's analytic ones where
    published; ``se_jackknife`` is the delete-one-unit jackknife.
    """

    coefficient: str
    estimate: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    n_units: int = 0
    n_raters: int = 0
    method: str = ""
    reason: str | None = None
    n_ratings: int = 0
    n_single: int = 0
    pa: float = math.nan
    pe: float = math.nan
    se_boot: float = math.nan
    se_jackknife: float = math.nan
    se_gwet: float = math.nan
    gwet_ci_low: float = math.nan
    gwet_ci_high: float = math.nan
    n_boot: int = 0
    n_boot_valid: int = 0
    ci_method: str | None = None
    ci_level: float = 0.95
    seed: int | None = None
    level: str | None = None
    weights: str | None = None
    categories: list = field(default_factory=list)
    replicates: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self, replicates: bool = False) -> dict:
        out = asdict(self)
        if not replicates:
            out.pop("replicates", None)
        return out

    def p_below(self, threshold: float) -> float:
        """Share of bootstrap replicates below ``threshold`` (Krippendorff's q for alpha)."""
        reps = self.replicates
        if reps is None or not np.isfinite(reps).any():
            return math.nan
        reps = reps[np.isfinite(reps)]
        return float(np.mean(reps < threshold))


# ---------------------------------------------------------------------------------------------
# weights and metrics
# ---------------------------------------------------------------------------------------------
def weight_matrix(values: Sequence[float] | int, kind: str | np.ndarray | None = "none") -> np.ndarray:
    """Agreement weights ``w_kl`` (1 on the diagonal) for the kappa family and Gwet's AC2.

    ``linear``: ``1 - |x_k - x_l| / (max - min)``; ``quadratic``:
    ``1 - (x_k - x_l)^2 / (max - min)^2`` (Cohen 1968; Gwet 2014, ch. 3), where
    ``x`` are the category values of an interval/ratio scale and the positions
    ``0..q-1`` in the ordered domain otherwise (the convention of R's ``irr``
    applied to the *recorded* domain).
    """
    if isinstance(values, (int, np.integer)):
        values = np.arange(int(values), dtype=float)
    x = np.asarray(values, dtype=float)
    q = len(x)
    if kind is None or (isinstance(kind, str) and kind in ("none", "identity", "unweighted")):
        return np.eye(q)
    if not isinstance(kind, str):
        w = np.asarray(kind, dtype=float)
        if w.shape != (q, q):
            raise ValueError(f"a custom weight matrix must be {q} x {q}")
        return w
    span = x.max() - x.min() if q > 1 else 1.0
    diff = np.abs(x[:, None] - x[None, :]) / (span if span > 0 else 1.0)
    if kind == "linear":
        return 1.0 - diff
    if kind == "quadratic":
        return 1.0 - diff**2
    raise ValueError(f"weights must be one of {', '.join(WEIGHTS)} or a matrix, not {kind!r}")


def _weights_name(kind) -> str:
    if kind is None or (isinstance(kind, str) and kind in ("none", "identity", "unweighted")):
        return "none"
    return kind if isinstance(kind, str) else "custom"


def _delta(level: str, values: np.ndarray, n_k: np.ndarray) -> np.ndarray:
    """Krippendorff's squared difference functions, batched over a leading axis of ``n_k``.

    nominal ``1 - I``; ordinal ``(sum_{g=c}^{k} n_g - (n_c + n_k)/2)^2``;
    interval ``(c - k)^2``; ratio ``((c - k)/(c + k))^2`` (Krippendorff 2011, sec. E).
    """
    q = len(values)
    batch = n_k.shape[:-1]
    if level == "nominal":
        d = 1.0 - np.eye(q)
    elif level == "interval":
        d = (values[:, None] - values[None, :]) ** 2
    elif level == "ratio":
        s = values[:, None] + values[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(s != 0, ((values[:, None] - values[None, :]) / np.where(s != 0, s, 1)) ** 2, 0.0)
    elif level == "ordinal":
        cum = np.cumsum(n_k, axis=-1)
        lo = np.minimum(np.arange(q)[:, None], np.arange(q)[None, :])
        hi = np.maximum(np.arange(q)[:, None], np.arange(q)[None, :])
        cum0 = np.concatenate([np.zeros(batch + (1,)), cum], axis=-1)
        between = cum0[..., hi + 1] - cum0[..., lo]
        half = (n_k[..., :, None] + n_k[..., None, :]) / 2.0
        return (between - half) ** 2
    else:
        raise ValueError(f"unknown level {level!r}")
    return np.broadcast_to(d, batch + (q, q))


# ---------------------------------------------------------------------------------------------
# the count-pattern family: pa, Scott, Fleiss, Brennan-Prediger, Gwet, Krippendorff
# ---------------------------------------------------------------------------------------------
def _count_features(pat: np.ndarray, W: np.ndarray, base_only: bool = False) -> np.ndarray:
    """Per-pattern contributions: [unit, pairable, agreement, c/r (q), c (q), coincidences (q*q),
    per-category disagreement c_k (r - c_k) / (r (r - 1)) (q)]; ``base_only``: the first three."""
    pat = pat.astype(float)
    P, q = pat.shape
    r = pat.sum(1)
    pair = (r >= 2).astype(float)
    den = np.where(r >= 2, r * (r - 1), 1.0)
    agree = pair * np.sum(pat * (pat @ W.T - 1.0), axis=1) / den
    if base_only:
        return np.stack([np.ones(P), pair, agree], axis=1)
    prop = pat / np.where(r > 0, r, 1.0)[:, None]
    outer = pat[:, :, None] * pat[:, None, :] - pat[:, :, None] * np.eye(q)[None]
    coinc = (pair / np.where(r >= 2, r - 1, 1.0))[:, None, None] * outer
    cat_dis = pair[:, None] * pat * (r[:, None] - pat) / den[:, None]
    return np.concatenate(
        [np.ones((P, 1)), pair[:, None], agree[:, None], prop, pat, coinc.reshape(P, q * q), cat_dis], axis=1
    )


def _count_stat(q: int, W: np.ndarray, level: str, values: np.ndarray, per_category: bool = False):
    tw = W.sum()

    def stat(T: np.ndarray) -> dict:
        T = np.atleast_2d(T)
        units, pairs, agree = T[:, 0], T[:, 1], T[:, 2]
        prop = T[:, 3 : 3 + q]
        cnt = T[:, 3 + q : 3 + 2 * q]
        coinc = T[:, 3 + 2 * q : 3 + 2 * q + q * q].reshape(-1, q, q)
        cat_dis = T[:, 3 + 2 * q + q * q : 3 + 3 * q + q * q]
        with np.errstate(invalid="ignore", divide="ignore"):
            pa = np.where(pairs > 0, agree / np.where(pairs > 0, pairs, 1), np.nan)
            pi = prop / units[:, None]
            pe_f = np.sum((pi @ W) * pi, axis=1)
            pooled = cnt / cnt.sum(1, keepdims=True)
            pe_s = np.sum((pooled @ W) * pooled, axis=1)
            pe_bp = np.full_like(pa, tw / q**2)
            pe_g = tw / (q * (q - 1)) * np.sum(pi * (1 - pi), axis=1) if q > 1 else np.full_like(pa, np.nan)
            out = {"percent_agreement": pa, "pe_fleiss": pe_f, "pe_scott": pe_s, "pe_bp": pe_bp, "pe_gwet": pe_g}
            for name, pe in (
                ("fleiss_kappa", pe_f),
                ("scott_pi", pe_s),
                ("brennan_prediger", pe_bp),
                ("gwet_ac", pe_g),
            ):
                out[name] = np.where(pe < 1 - 1e-12, (pa - pe) / (1 - pe), np.nan)
            n_k = coinc.sum(axis=2)
            N = n_k.sum(1)
            d = _delta(level, values, n_k)
            d_o = np.sum(coinc * d, axis=(1, 2))
            d_e = np.sum(n_k[:, :, None] * d * n_k[:, None, :], axis=(1, 2)) / np.where(N > 1, N - 1, np.nan)
            out["krippendorff_alpha"] = np.where((N >= 2) & (d_e > 1e-12), 1 - d_o / np.where(d_e > 0, d_e, 1), np.nan)
            # observed and expected agreement on the 0-1 scale of the largest difference
            dmax = d.max(axis=(-1, -2))
            dmax = np.where(dmax > 0, dmax, np.nan)
            out["alpha_pa"] = 1 - d_o / (np.where(N > 0, N, np.nan) * dmax)
            out["alpha_pe"] = 1 - d_e / (np.where(N > 0, N, np.nan) * dmax)
            if per_category:
                dis = cat_dis / np.where(pairs > 0, pairs, np.nan)[:, None]
                spread = pi * (1 - pi)
                kap = np.where(spread > 1e-12, 1 - dis / np.where(spread > 0, spread, 1), np.nan)
                spec = np.where(n_k > 0, np.diagonal(coinc, axis1=1, axis2=2) / np.where(n_k > 0, n_k, 1), np.nan)
                for k in range(q):
                    out[f"kappa[{k}]"] = kap[:, k]
                    out[f"specific[{k}]"] = spec[:, k]
                    out[f"prevalence[{k}]"] = pi[:, k]
        return out

    return stat


def _count_family(R: Ratings, W: np.ndarray, per_category: bool = False) -> tuple[_Family, np.ndarray]:
    counts = R.counts()
    pat, inverse, freq = _unique_rows(counts)
    fam = _Family(_count_features(pat, W), freq, _count_stat(R.q, W, R.level, R.values, per_category), inverse)
    return fam, pat


# ---------------------------------------------------------------------------------------------
# the rater-pattern families: Conger (any raters) and Cohen (two raters)
# ---------------------------------------------------------------------------------------------
def _rater_patterns(R: Ratings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct per-unit (rater -> label) patterns: rows are label+1 per rater (0 = not rated)."""
    mat = np.zeros((R.n_units, R.n_raters), dtype=np.int64)
    mat[R.unit, R.rater] = R.label + 1
    return _unique_rows(mat)


def _conger_family(R: Ratings, W: np.ndarray) -> _Family:
    rows, inverse, freq = _rater_patterns(R)
    P, nr = rows.shape
    q = R.q
    counts = np.zeros((P, q))
    rated = rows > 0
    for g in range(nr):
        m = rated[:, g]
        np.add.at(counts, (np.flatnonzero(m), rows[m, g] - 1), 1.0)
    base = _count_features(counts, W, base_only=True)
    pi_, gi = np.nonzero(rated)
    col = gi * q + (rows[pi_, gi] - 1)
    x = sparse.csr_matrix((np.ones(len(pi_)), (pi_, col)), shape=(P, nr * q))
    feats = sparse.hstack([sparse.csr_matrix(base), x], format="csr")

    def stat(T: np.ndarray) -> dict:
        T = np.atleast_2d(T)
        pairs, agree = T[:, 1], T[:, 2]
        n_gk = T[:, 3:].reshape(-1, nr, q)
        n_g = n_gk.sum(2)
        valid = n_g > 0
        r = valid.sum(1).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = n_gk / np.where(valid, n_g, 1)[:, :, None]
            pbar = p.sum(1) / r[:, None]
            s = np.sum((p @ W) * p, axis=(1, 2))
            pe = (r**2 * np.sum((pbar @ W) * pbar, axis=1) - s) / (r * (r - 1))
            pa = np.where(pairs > 0, agree / np.where(pairs > 0, pairs, 1), np.nan)
            kappa = np.where((pe < 1 - 1e-12) & (r >= 2), (pa - pe) / (1 - pe), np.nan)
        return {"conger_kappa": kappa, "pe_conger": pe, "pa_conger": pa}

    return _Family(feats, freq, stat, inverse)


def _cohen_family(R: Ratings, W: np.ndarray) -> tuple[_Family | None, np.ndarray | None]:
    if R.n_raters != 2:
        return None, None
    mat = np.full((R.n_units, 2), -1, dtype=np.int64)
    mat[R.unit, R.rater] = R.label
    both = (mat >= 0).all(1)
    q = R.q
    table = np.bincount(mat[both, 0] * q + mat[both, 1], minlength=q * q).astype(np.int64)
    cells = np.flatnonzero(table)
    feats = np.zeros((len(cells), q * q))
    feats[np.arange(len(cells)), cells] = 1.0

    def stat(T: np.ndarray) -> dict:
        T = np.atleast_2d(T)
        tab = T.reshape(-1, q, q)
        n = tab.sum((1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            p = tab / n[:, None, None]
            pa = np.sum(p * W, axis=(1, 2))
            pe = np.sum((p.sum(2) @ W) * p.sum(1), axis=1)
            kappa = np.where((pe < 1 - 1e-12) & (n > 0), (pa - pe) / (1 - pe), np.nan)
        return {"cohen_kappa": kappa, "pa_cohen": pa, "pe_cohen": pe}

    if len(cells) == 0:
        return None, table.reshape(q, q)
    return _Family(feats, table[cells], stat), table.reshape(q, q)


# ---------------------------------------------------------------------------------------------
# the computation behind every public coefficient
# ---------------------------------------------------------------------------------------------
_NAMES = {
    "percent_agreement": "percent agreement",
    "cohen_kappa": "Cohen's kappa",
    "scott_pi": "Scott's pi",
    "fleiss_kappa": "Fleiss' kappa",
    "conger_kappa": "Conger's kappa",
    "brennan_prediger": "Brennan-Prediger",
    "gwet_ac": "Gwet's AC",
    "krippendorff_alpha": "Krippendorff's alpha",
}


def _undefined_reason(name: str, R: Ratings, counts: np.ndarray) -> str:
    """Why a coefficient is NaN on these data."""
    r = counts.sum(1)
    if name == "cohen_kappa" and R.n_raters != 2:
        return f"Cohen's kappa needs exactly two raters ({R.n_raters} here); see conger_kappa"
    if not (r >= 2).any():
        return "fewer than two pairable values: no unit has two or more ratings"
    if R.q < 2:
        return "the category domain has a single category"
    used = np.flatnonzero(counts[r >= 2].sum(0) if name == "krippendorff_alpha" else counts.sum(0))
    if len(used) <= 1:
        return (
            f"only one category used ({R.categories[used[0]] if len(used) else 'none'}): "
            "no variation, chance agreement is total"
        )
    if name == "krippendorff_alpha":
        return "expected disagreement is zero under this metric"
    return "chance agreement is 1"


def _compute(
    df: pd.DataFrame | Ratings,
    names: Sequence[str],
    item: str,
    rater: str,
    label: str,
    level: str,
    weights,
    categories,
    n_boot: int,
    seed: int | None,
    ci: float,
    ci_method: str,
    keep_replicates: bool = False,
) -> dict[str, AgreementResult]:
    R = (
        _with_level(df, level)
        if isinstance(df, Ratings)
        else prepare_ratings(df, item, rater, label, categories, level)
    )
    W = weight_matrix(R.values if level in ("interval", "ratio") else R.q, weights)
    wname = _weights_name(weights)
    counts = R.counts()
    r = counts.sum(1)
    n_single = int((r == 1).sum())
    n_pairable = int((r >= 2).sum())
    results: dict[str, AgreementResult] = {}
    count_names = [
        n
        for n in names
        if n in ("percent_agreement", "scott_pi", "fleiss_kappa", "brennan_prediger", "gwet_ac", "krippendorff_alpha")
    ]
    common = dict(
        n_raters=R.n_raters,
        n_ratings=R.n_ratings,
        n_single=n_single,
        ci_level=ci,
        seed=seed,
        level=level,
        categories=list(R.categories),
    )

    def finish(name, est, pa, pe, reps, jack, freq, se_g, n_for_t, n_units, method, weights_label, reason=None):
        if not np.isfinite(est):
            reason = reason or _undefined_reason(name, R, counts)
        lo = hi = math.nan
        n_valid = 0
        se_b = math.nan
        if reps is not None and n_boot > 0:
            lo, hi, n_valid = _interval(reps, est, ci, ci_method, jack, freq)
            ok = reps[np.isfinite(reps)]
            se_b = float(np.std(ok, ddof=1)) if len(ok) > 1 else math.nan
            if np.isfinite(est) and not np.isfinite(lo):
                reason = reason or f"bootstrap interval undefined: only {n_valid} of {n_boot} replicates defined"
        g_lo, g_hi = _t_interval(est, se_g, n_for_t, ci)
        ci_text = (
            f"; CI: unit bootstrap {ci_method}, {n_boot} replicates, seed {seed}"
            if n_boot > 0
            else "; no bootstrap CI (n_boot=0)"
        )
        if np.isfinite(est) and (n_boot == 0 or np.isfinite(lo)):
            reason = None
        results[name] = AgreementResult(
            coefficient=name,
            estimate=float(est),
            ci_low=lo,
            ci_high=hi,
            n_units=n_units,
            method=method + ci_text,
            reason=reason,
            pa=float(pa),
            pe=float(pe),
            se_boot=se_b,
            se_jackknife=jack[0] if jack else math.nan,
            se_gwet=float(se_g),
            gwet_ci_low=g_lo,
            gwet_ci_high=g_hi,
            n_boot=int(n_boot),
            n_boot_valid=int(n_valid),
            ci_method=ci_method if n_boot > 0 else None,
            weights=weights_label,
            replicates=reps if keep_replicates else None,
            **common,
        )

    if count_names:
        fam, pat = _count_family(R, W)
        pt = fam.point()
        reps = _bootstrap(fam, n_boot, seed, 0) if n_boot > 0 else {}
        jack = _jackknife(fam)
        level_w = W
        if "krippendorff_alpha" in count_names:
            # Gwet's alpha uses weights 1 - delta / max(delta); the ordinal delta at the observed marginals
            n_k = fam.totals(fam.freq[None, :])[0][3 + 2 * R.q : 3 + 2 * R.q + R.q**2].reshape(R.q, R.q).sum(1)
            d = _delta(level, R.values, n_k[None, :])[0]
            level_w = 1 - d / d.max() if d.max() > 0 else np.eye(R.q)
        se = _gwet_se_counts(pat, fam.freq, W, pt, level_w)
        pe_of = {
            "percent_agreement": 0.0,
            "scott_pi": pt["pe_scott"],
            "fleiss_kappa": pt["pe_fleiss"],
            "brennan_prediger": pt["pe_bp"],
            "gwet_ac": pt["pe_gwet"],
        }
        for name in count_names:
            if name == "krippendorff_alpha":
                method = (
                    f"Krippendorff's alpha, {level} metric, coincidence matrix over pairable values "
                    f"(Krippendorff 2011); {n_single} single-rated units excluded"
                )
                finish(
                    name,
                    pt[name],
                    pt["alpha_pa"],
                    pt["alpha_pe"],
                    reps.get(name),
                    jack.get(name),
                    fam.freq,
                    math.sqrt(se[name]) if name in se else math.nan,
                    int(se.get("_alpha_n", n_pairable)),
                    n_pairable,
                    method,
                    level,
                )
                continue
            if name == "gwet_ac":
                label_ = "AC1" if wname == "none" else f"AC2 ({wname} weights)"
                method = f"Gwet's {label_} (Gwet 2008, 2014)"
            elif name == "percent_agreement":
                method = "percent agreement over units with two or more ratings (Gwet 2014)" + (
                    "" if wname == "none" else f", {wname} weights"
                )
            elif name == "scott_pi":
                method = "Scott's pi with chance agreement from the pooled rating distribution (Scott 1955)" + (
                    "" if wname == "none" else f", {wname} weights"
                )
            elif name == "fleiss_kappa":
                method = "Fleiss' kappa (Fleiss 1971; Gwet 2014 for missing ratings)" + (
                    "" if wname == "none" else f", {wname} weights"
                )
            else:
                method = "Brennan-Prediger coefficient, uniform chance agreement (Brennan & Prediger 1981)" + (
                    "" if wname == "none" else f", {wname} weights"
                )
            se_name = math.sqrt(se[name]) if name in se else math.nan
            if name == "scott_pi" and R.n_raters == 2:
                mat = np.full((R.n_units, 2), -1)
                mat[R.unit, R.rater] = R.label
                if (mat >= 0).all():
                    tab = np.bincount(mat[:, 0] * R.q + mat[:, 1], minlength=R.q**2).reshape(R.q, R.q)
                    se_name = _gwet_se_table(tab, W, "scott")[1]
            finish(
                name,
                pt[name],
                pt["percent_agreement"],
                pe_of[name],
                reps.get(name),
                jack.get(name),
                fam.freq,
                se_name,
                R.n_units,
                n_pairable,
                method,
                wname,
            )

    if "conger_kappa" in names:
        fam = _conger_family(R, W)
        pt = fam.point()
        method = (
            "Conger's kappa, chance agreement from each rater's own distribution (Conger 1980; "
            "Gwet 2014 for missing ratings)" + ("" if wname == "none" else f", {wname} weights")
        )
        if len(fam.freq) > bootstrap.MAX_PATTERNS:
            # almost every unit has its own rater pattern: resample seeded random groups of units
            fam = _grouped(fam, seed, 1)
            method += (
                f"; {fam.grouped} random groups of units are the resampling units of the bootstrap and "
                "the jackknife (random-group method)"
            )
        reps = _bootstrap(fam, n_boot, seed, 1) if n_boot > 0 else {}
        jack = _jackknife(fam)
        pa = pt["pa_conger"]
        se_c = _gwet_se_conger(R, W, pt["conger_kappa"], pt["pe_conger"], pa)
        finish(
            "conger_kappa",
            pt["conger_kappa"],
            pa,
            pt["pe_conger"],
            reps.get("conger_kappa"),
            jack.get("conger_kappa"),
            fam.freq,
            se_c,
            R.n_units,
            n_pairable,
            method,
            wname,
        )

    if "cohen_kappa" in names:
        fam, table = _cohen_family(R, W)
        method = "Cohen's kappa on the units both raters rated (Cohen 1960; weighted: Cohen 1968)" + (
            "" if wname == "none" else f", {wname} weights"
        )
        if fam is None:
            reason = (
                f"Cohen's kappa needs exactly two raters ({R.n_raters} here); see conger_kappa"
                if R.n_raters != 2
                else "no unit rated by both raters"
            )
            results["cohen_kappa"] = AgreementResult(
                "cohen_kappa", math.nan, n_units=0, method=method, reason=reason, weights=wname, **common
            )
        else:
            pt = fam.point()
            reps = _bootstrap(fam, n_boot, seed, 2) if n_boot > 0 else {}
            jack = _jackknife(fam)
            _, se_c, n_both = _gwet_se_table(table, W, "cohen")
            finish(
                "cohen_kappa",
                pt["cohen_kappa"],
                pt["pa_cohen"],
                pt["pe_cohen"],
                reps.get("cohen_kappa"),
                jack.get("cohen_kappa"),
                fam.freq,
                se_c,
                int(n_both),
                int(n_both),
                method,
                wname,
            )
    return {n: results[n] for n in names if n in results}


def _one(
    name: str,
    df,
    item,
    rater,
    label,
    level="nominal",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
    keep_replicates=True,
) -> AgreementResult:
    return _compute(
        df, [name], item, rater, label, level, weights, categories, n_boot, seed, ci, ci_method, keep_replicates
    )[name]


_DOC_PARAMS = """
    Parameters
    ----------
    df : DataFrame
        Long format, one row per rating (or a :class:`Ratings` from :func:`prepare_ratings`).
    item, rater, label : str
        Column names.
    weights : {None, 'none', 'linear', 'quadratic'} or (q x q) array
        Agreement weights (1 on the diagonal); positions in the ordered domain, or
        the category values when ``level`` is interval/ratio.
    categories : sequence, optional
        The ordered category domain; by default the categories observed (sorted).
        It matters: Brennan-Prediger and AC1 depend on the number of categories and
        weighted coefficients on their spacing.
    n_boot : int
        Bootstrap replicates over units (0 skips the CI).
    seed : int
        Seed of the bootstrap.
    ci : float
        Confidence level.
    ci_method : {'percentile', 'bca'}

    Returns
    -------
    AgreementResult
        ``estimate``, ``ci_low``, ``ci_high``, ``method``, ``reason`` and the
        jackknife and Gwet analytic standard errors.
"""


def percent_agreement(
    df,
    item="item",
    rater="rater",
    label="label",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
) -> AgreementResult:
    """Observed agreement: the mean over units with two or more ratings of the share of agreeing
    ordered rating pairs, ``pa = mean_i sum_k r_ik (r*_ik - 1) / (r_i (r_i - 1))`` (Gwet 2014, eq. 2.2).

    Always read it beside a chance-corrected coefficient: with a dominant category both
    can disagree sharply (the prevalence paradox, Feinstein & Cicchetti 1990).
    """
    return _one(
        "percent_agreement", df, item, rater, label, "nominal", weights, categories, n_boot, seed, ci, ci_method
    )


def cohen_kappa(
    df,
    item="item",
    rater="rater",
    label="label",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
) -> AgreementResult:
    """Cohen's kappa for exactly two raters on the units both rated (complete pairs, as R's irr).

    ``kappa = (pa - pe) / (1 - pe)`` with ``pe = sum_kl w_kl p_k. p_.l``; the
    analytic SE is Fleiss, Cohen & Everitt (1969). NaN with a reason unless there
    are exactly two raters.
    """
    return _one("cohen_kappa", df, item, rater, label, "nominal", weights, categories, n_boot, seed, ci, ci_method)


def scott_pi(
    df,
    item="item",
    rater="rater",
    label="label",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
) -> AgreementResult:
    """Scott's pi: chance agreement from the pooled distribution of all ratings
    (``pi_k = sum_i r_ik / sum_i r_i``). Equals Fleiss' kappa when every unit has the
    same number of ratings; differs from it only through how units with missing
    ratings weigh into the marginals.
    """
    return _one("scott_pi", df, item, rater, label, "nominal", weights, categories, n_boot, seed, ci, ci_method)


def fleiss_kappa(
    df,
    item="item",
    rater="rater",
    label="label",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
) -> AgreementResult:
    """Fleiss' (1971) kappa; missing ratings handled as in Gwet (2014):
    ``pi_k = mean_i r_ik / r_i`` over units with a rating, ``pe = sum_kl w_kl pi_k pi_l``.
    """
    return _one("fleiss_kappa", df, item, rater, label, "nominal", weights, categories, n_boot, seed, ci, ci_method)


def conger_kappa(
    df,
    item="item",
    rater="rater",
    label="label",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
) -> AgreementResult:
    """Conger's (1980) kappa: chance agreement averages ``sum_kl w_kl p_gk p_hl`` over rater pairs,
    each rater's ``p_g`` from the units that rater rated. Reduces to Cohen's kappa for two raters
    with complete data.
    """
    return _one("conger_kappa", df, item, rater, label, "nominal", weights, categories, n_boot, seed, ci, ci_method)


def brennan_prediger(
    df,
    item="item",
    rater="rater",
    label="label",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
) -> AgreementResult:
    """Brennan & Prediger (1981): uniform chance agreement ``pe = sum(W) / q^2``. Depends on the
    size of the category domain, so pass ``categories`` when some were never used.
    """
    return _one("brennan_prediger", df, item, rater, label, "nominal", weights, categories, n_boot, seed, ci, ci_method)


def gwet_ac(
    df,
    item="item",
    rater="rater",
    label="label",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
) -> AgreementResult:
    """Gwet's AC1 (unweighted) or AC2 (weighted): ``pe = sum(W) / (q (q - 1)) sum_k pi_k (1 - pi_k)``
    (Gwet 2008). Stable under skewed prevalence where kappa collapses; depends on ``q``.
    """
    return _one("gwet_ac", df, item, rater, label, "nominal", weights, categories, n_boot, seed, ci, ci_method)


def krippendorff_alpha(
    df,
    item="item",
    rater="rater",
    label="label",
    level="nominal",
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
) -> AgreementResult:
    """Krippendorff's alpha, ``1 - (n - 1) sum o_ck delta_ck / sum n_c n_k delta_ck``.

    The coincidence matrix ``o_ck = sum_u (pairs c-k in unit u) / (m_u - 1)`` counts
    pairable values only: units with one rating drop out and are counted in
    ``n_single``. ``level`` picks the difference function delta (nominal, ordinal,
    interval, ratio; Krippendorff 2011). Agrees with ``krippendorff.alpha`` to
    rounding; this adds the unit bootstrap, jackknife and Gwet's analytic SE.

    Notes
    -----
    Krippendorff (2004) suggests relying on data with alpha >= .800 and drawing
    tentative conclusions for .667 <= alpha < .800; use the lower CI bound (or
    ``result.p_below(0.667)``) rather than the point estimate for that decision.
    """
    return _compute(
        df, ["krippendorff_alpha"], item, rater, label, level, None, categories, n_boot, seed, ci, ci_method, True
    )["krippendorff_alpha"]


for _f in (percent_agreement, cohen_kappa, scott_pi, fleiss_kappa, conger_kappa, brennan_prediger, gwet_ac):
    _f.__doc__ = (_f.__doc__ or "").rstrip() + "\n" + _DOC_PARAMS
krippendorff_alpha.__doc__ = (
    krippendorff_alpha.__doc__.rstrip()
    + "\n"
    + _DOC_PARAMS.replace(
        "    weights : {None, 'none', 'linear', 'quadratic'} or (q x q) array\n"
        "        Agreement weights (1 on the diagonal); positions in the ordered domain, or\n"
        "        the category values when ``level`` is interval/ratio.\n",
        "    level : {'nominal', 'ordinal', 'interval', 'ratio'}\n        The metric (difference function).\n",
    )
)
del _f


def agreement_table(
    df,
    item="item",
    rater="rater",
    label="label",
    level="nominal",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
    coefficients: Sequence[str] = COEFFICIENTS,
) -> pd.DataFrame:
    """Every coefficient as a tidy table: coefficient, estimate, ci_low, ci_high, n_units,
    n_raters, method, reason, then pa, pe (percent agreement beside every kappa), the
    jackknife and Gwet standard errors and the recorded category domain.

    Weights apply to the kappa family, Brennan-Prediger and Gwet's AC (AC1 when none,
    AC2 otherwise); alpha's metric follows ``level``.
    """
    unknown = set(coefficients) - set(COEFFICIENTS)
    if unknown:
        raise ValueError(f"unknown coefficients {sorted(unknown)}; choose from {COEFFICIENTS}")
    R = df if isinstance(df, Ratings) else prepare_ratings(df, item, rater, label, categories, level)
    res = _compute(R, list(coefficients), item, rater, label, level, weights, categories, n_boot, seed, ci, ci_method)
    rows = []
    for name in coefficients:
        d = res[name].to_dict()
        d["categories"] = ",".join(map(str, d["categories"]))
        rows.append(d)
    frame = pd.DataFrame(rows)
    rest = [c for c in frame.columns if c not in TIDY_COLUMNS]
    return frame[TIDY_COLUMNS + rest]


def agreement_summary(
    df,
    item="item",
    rater="rater",
    label="label",
    level="nominal",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
) -> dict:
    """The CLI's JSON document: counts and ``coefficients: {name: {estimate, ci_low, ci_high, method}}``."""
    R = df if isinstance(df, Ratings) else prepare_ratings(df, item, rater, label, categories, level)
    table = agreement_table(R, level=level, weights=weights, n_boot=n_boot, seed=seed, ci=ci)
    counts = R.counts().sum(1)
    coefs = {}
    for row in table.itertuples(index=False):
        if row.coefficient == "cohen_kappa" and R.n_raters != 2:
            coefs[row.coefficient] = None
            continue
        coefs[row.coefficient] = {
            "estimate": _finite(row.estimate),
            "ci_low": _finite(row.ci_low),
            "ci_high": _finite(row.ci_high),
            "method": row.method,
            "reason": row.reason,
            "n_units": int(row.n_units),
            "pa": _finite(row.pa),
            "pe": _finite(row.pe),
            "se_gwet": _finite(row.se_gwet),
            "se_jackknife": _finite(row.se_jackknife),
        }
    out = {
        "n_items": int(R.n_units),
        "n_raters": int(R.n_raters),
        "n_ratings": int(R.n_ratings),
        "n_missing": int(R.n_missing),
        "n_single": int((counts == 1).sum()),
        "level": level,
        "weights": _weights_name(weights),
        "categories": list(map(str, R.categories)),
        "categories_source": R.categories_source,
        "n_boot": int(n_boot),
        "seed": seed,
        "coefficients": coefs,
    }
    if level in ("interval", "ratio"):  # numeric ratings: the intraclass correlations too (agreement/icc.py)
        from .icc import icc

        res = icc(R, ci=ci)
        out["icc"] = res.as_dict()
        out["icc_design"] = {
            "n_targets": res.n_targets,
            "n_judges": res.n_judges,
            "n_dropped": res.n_dropped,
            "missing": "listwise: items without a rating from every rater are dropped",
            "reason": res.reason,
        }
    return out


def _finite(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None
