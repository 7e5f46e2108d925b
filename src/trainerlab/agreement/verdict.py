"""The words for agreement numbers: Landis-Koch and Krippendorff bands with their caveats, and the
agreement report's verdict (three to five sentences and a status)."""

from __future__ import annotations

import math

import numpy as np

# Landis & Koch (1977), as tabulated in irrCAC's landis.koch data set.
LANDIS_KOCH = [
    (0.8, 1.0, "almost perfect"),
    (0.6, 0.8, "substantial"),
    (0.4, 0.6, "moderate"),
    (0.2, 0.4, "fair"),
    (0.0, 0.2, "slight"),
    (-1.0, 0.0, "poor"),
]
# Krippendorff (2004, p. 241): rely on alpha >= .800; tentative conclusions for .667 <= alpha < .800.
KRIPPENDORFF_BANDS = [
    (0.8, 1.0, "reliable"),
    (0.667, 0.8, "tentative conclusions only"),
    (-math.inf, 0.667, "unreliable: do not rely on these labels"),
]
_CAVEATS = {
    "landis_koch": (
        "Landis & Koch's bands are conventions without a statistical basis; the same kappa means "
        "different things at different prevalence, so read it beside percent agreement and the CI."
    ),
    "krippendorff": (
        "Krippendorff's thresholds are conventions for drawing conclusions from data; judge the "
        "lower CI bound (or the share of bootstrap replicates below the threshold), not the point "
        "estimate."
    ),
}


def interpret(
    estimate: float, scale: str = "landis_koch", ci_low: float | None = None, pa: float | None = None
) -> dict:
    """A band for a coefficient, with its caveat.

    ``scale``: ``'landis_koch'`` (kappa-type) or ``'krippendorff'`` (alpha). When
    ``ci_low`` is given the band of the lower bound is reported too; when ``pa``
    is high and the estimate low, the prevalence paradox is named.
    """
    if scale not in ("landis_koch", "krippendorff"):
        raise ValueError("scale must be 'landis_koch' or 'krippendorff'")
    bands = LANDIS_KOCH if scale == "landis_koch" else KRIPPENDORFF_BANDS

    def band(x):
        if x is None or not np.isfinite(x):
            return None
        for lo, hi, name in bands:
            if lo <= x <= hi or (x > hi and hi == 1.0 and lo == bands[0][0]):
                return name
        return bands[-1][2]

    note = _CAVEATS[scale]
    if (
        pa is not None
        and np.isfinite(pa)
        and estimate is not None
        and np.isfinite(estimate)
        and pa >= 0.8
        and estimate < 0.4
    ):
        note += (
            f" Percent agreement is {pa:.0%} while the coefficient is {estimate:.2f}: the prevalence "
            "paradox (one dominant category makes chance agreement high); consider Gwet's AC1 and the "
            "per-category agreement."
        )
    return {
        "estimate": estimate,
        "band": band(estimate),
        "band_of_ci_low": band(ci_low),
        "scale": scale,
        "caveat": note,
    }


def agreement_verdict(study: dict) -> tuple[list[str], str]:
    """Three to five plain sentences and a status for the report's verdict box.

    Status: ``alert`` when alpha is below .667 or a rater is flagged careless;
    ``warn`` when the lower CI bound is below .800 or a rater is an outlier;
    ``ok`` otherwise (Krippendorff's thresholds, judged on the interval).
    """
    t = study["table"].set_index("coefficient")
    a = t.loc["krippendorff_alpha"]
    n_items, n_raters = study["summary"]["items"], study["summary"]["raters"]
    task = study["task"]
    sentences = []
    if not np.isfinite(a["estimate"]):
        return (
            [
                f"Krippendorff's alpha for {task} is undefined: {a['reason']}.",
                f"{n_items:,} items and {n_raters} raters match the filters.",
                "Check the filters and the label schema before reading the tables below.",
            ],
            "alert",
        )
    band = interpret(a["estimate"], "krippendorff", ci_low=a["ci_low"])
    ci = f"95% CI {a['ci_low']:.2f} to {a['ci_high']:.2f}" if np.isfinite(a["ci_low"]) else "no CI"
    sentences.append(
        f"Krippendorff's alpha ({study['schema']['level']}) for {task} is {a['estimate']:.2f} "
        f"({ci}) on {n_items:,} items from {n_raters} raters: {band['band']}."
    )
    pa = t.loc["percent_agreement", "estimate"]
    fk = t.loc["fleiss_kappa", "estimate"]
    ac = t.loc["gwet_ac", "estimate"]
    paradox = interpret(fk, pa=pa)["caveat"]
    sentences.append(
        f"Raters agree on {pa:.0%} of rating pairs"
        + (" (weighted)" if study["weights"] != "none" else "")
        + f"; Fleiss' kappa is {fk:.2f} and Gwet's AC is {ac:.2f}"
        + (
            " - high agreement with a low kappa: one category dominates (prevalence paradox)."
            if "prevalence paradox" in paradox
            else "."
        )
    )
    raters = study["raters"]
    flagged = raters[raters["flag"].notna()]
    loro = study["loro"].set_index("rater")
    careless = flagged[flagged["flag"] == "careless"]
    if len(flagged):
        parts = []
        for row in flagged.itertuples(index=False):
            d = loro.loc[row.rater] if row.rater in loro.index else None
            gain = (
                ""
                if d is None or not np.isfinite(d["delta"])
                else f"; without them alpha changes by {d['delta']:+.2f} (95% CI {d['ci_low']:+.2f} to "
                f"{d['ci_high']:+.2f})"
            )
            parts.append(f"{row.rater} ({row.flag}, quality {row.quality:.2f}{gain})")
        sentences.append("Flagged raters: " + "; ".join(parts) + ".")
    else:
        sentences.append("No rater is flagged by the Dawid-Skene model.")
    per = study["per_category"].dropna(subset=["kappa"])
    if len(per) and per["kappa"].round(6).nunique() == 1:  # two categories: one kappa for both
        sentences.append(f"The {len(study['pack'])} most disputed items are listed for a calibration session.")
    elif len(per):
        worst = per.loc[per["kappa"].idxmin()]
        sentences.append(
            f"The least reproducible category is '{worst['category']}' (category kappa "
            f"{worst['kappa']:.2f}); the {len(study['pack'])} most disputed items are listed for a "
            "calibration session."
        )
    if a["estimate"] < 0.667 or len(careless):
        status = "alert"
        action = (
            "Coach or pause the flagged raters and hold a calibration session before training on these labels."
            if len(flagged)
            else "Hold a calibration session and clarify the guideline before training on these labels."
        )
    elif (np.isfinite(a["ci_low"]) and a["ci_low"] < 0.8) or len(flagged):
        status = "warn"
        action = "Use these labels with care: review the disputed items and the least reproducible category."
    else:
        status = "ok"
        action = "The labels are reliable enough to train on; keep monitoring weekly."
    sentences.append(action)
    return sentences[:5], status
