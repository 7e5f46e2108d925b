"""The statistics core: intervals, tests, multiple testing, resampling. Arrays in, numbers out.

Every family (agreement, drift, uplift, ...) takes its general statistics from here,
so that a fix lands once. This package imports nothing else of trainerlab.

- :mod:`~trainerlab.stats.intervals`: Wilson, Clopper-Pearson, Newcombe (independent
  and paired differences), Garwood (Poisson counts and rates), ``proportion_ci``;
- :mod:`~trainerlab.stats.significance`: McNemar exact, two-proportion z test, exact binomial test;
- :mod:`~trainerlab.stats.multiple`: Holm, Benjamini-Hochberg, Bonferroni adjustments;
- :mod:`~trainerlab.stats.kappa`: Cohen's two-rater kappa (from labels or tables);
- :mod:`~trainerlab.stats.resampling`: compiled bootstrap kernels (numba);
- :mod:`~trainerlab.stats.ppi`: prediction-powered inference (PPI++) for a mean;
- :mod:`~trainerlab.stats.sequential`: Wald's SPRT and the beta-binomial confidence sequence;
- :mod:`~trainerlab.stats.sample_size`: exact binomial demonstration and CI-margin sample sizes.
"""

from .intervals import (
    clopper_pearson_interval,
    newcombe_difference_interval,
    newcombe_paired_interval,
    normal_quantile,
    poisson_interval,
    poisson_rate_interval,
    proportion_ci,
    wilson_interval,
)
from .kappa import cohen_kappa, cohen_kappa_from_table
from .multiple import adjust_p_values, bh_adjust, bonferroni_adjust, holm_adjust
from .ppi import ppi_lambda, ppi_mean
from .resampling import bootstrap_means, bootstrap_ratios
from .sample_size import binomial_demonstration_n, binomial_demonstration_power, proportion_margin_n
from .sequential import (
    beta_binomial_confidence_sequence,
    confidence_sequence_stop,
    sprt_bernoulli,
    sprt_thresholds,
)
from .significance import binomial_test, mcnemar_exact, mcnemar_exact_p, two_proportion_test

__all__ = [
    "wilson_interval",
    "clopper_pearson_interval",
    "newcombe_difference_interval",
    "newcombe_paired_interval",
    "poisson_interval",
    "poisson_rate_interval",
    "proportion_ci",
    "normal_quantile",
    "mcnemar_exact",
    "mcnemar_exact_p",
    "two_proportion_test",
    "binomial_test",
    "adjust_p_values",
    "holm_adjust",
    "bh_adjust",
    "bonferroni_adjust",
    "cohen_kappa",
    "cohen_kappa_from_table",
    "bootstrap_means",
    "bootstrap_ratios",
    "ppi_mean",
    "ppi_lambda",
    "sprt_bernoulli",
    "sprt_thresholds",
    "beta_binomial_confidence_sequence",
    "confidence_sequence_stop",
    "binomial_demonstration_n",
    "binomial_demonstration_power",
    "proportion_margin_n",
]
