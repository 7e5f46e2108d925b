"""Uplift studies: did the new model (or training round) really help, where, by how much?

Everything here compares two versions *paired on the same items*, follows the
practice of Miller (2024), "Adding Error Bars to Evals" (arXiv:2411.00640), and
returns tidy results: an estimate with its CI, n and the method that produced it.

Families of functions (and the module each lives in)
----------------------------------------------------
- one proportion at small n: :func:`proportion_ci` (Wilson, Clopper-Pearson; from
  :mod:`trainerlab.stats`), :func:`rule_of_three` (``proportions``);
- paired comparison of two versions (``paired``, ``bootstrap``): :func:`paired_difference`
  (CLT SE, cluster-robust SE, seeded paired bootstrap), :func:`mcnemar_exact` (from
  :mod:`trainerlab.stats`), :func:`paired_proportion_ci` (Newcombe), :func:`wilcoxon_signed_rank`,
  :func:`non_inferiority`;
- slices: :func:`compare_by_category` (``categories``; Holm or Benjamini-Hochberg) and
  :func:`forest_plot` (``figures``);
- power (``power``): :func:`power_paired`, :func:`minimum_detectable_effect`, :func:`required_n`;
- preferences: :func:`read_alpaca_eval` (``study_alpaca_eval``), :func:`preference_scores`,
  :func:`win_rate`, :func:`judge_agreement` (``preferences``), :class:`BradleyTerry` (``bradley_terry``);
- online A/B: :func:`two_proportion_test` (from :mod:`trainerlab.stats`), :func:`poisson_rate_ci`,
  :func:`incident_rate_ratio` (``rates``), :func:`diff_in_diff` (``diff_in_diff``);
- repeated runs (``repeated``): :func:`pass_at_k`, :func:`pass_hat_k` (pass^k), :func:`repeated_runs`
  (per item and suite with intervals, flaky items);
- rankings (``style_control``): :class:`StyleControlledBT` (Bradley-Terry with style covariates,
  bootstrap intervals, tiers) and :func:`leaderboard_figure` (``figures``);
- the uplift report: :func:`uplift_study` (``study``: reads the warehouse), :func:`uplift_verdict`
  and the reading tables (``verdict``).

Undefined results are NaN with a ``reason``; they never raise and never read 0.
"""

from ..stats import cohen_kappa, mcnemar_exact, proportion_ci, two_proportion_test
from .alpaca_eval_files import read_alpaca_eval
from .bootstrap import paired_bootstrap
from .bradley_terry import BradleyTerry
from .categories import compare_by_category
from .diff_in_diff import diff_in_diff
from .figures import forest_plot, leaderboard_figure
from .outcomes import OUTCOMES, choose_outcome, outcome_label
from .paired import (
    flipped_items,
    non_inferiority,
    paired_difference,
    paired_difference_arrays,
    paired_proportion_ci,
    paired_table,
    wilcoxon_signed_rank,
)
from .power import minimum_detectable_effect, power_paired, required_n, sd_of_difference
from .preferences import judge_agreement, paired_preference_difference, preference_scores, win_rate
from .proportions import rule_of_three
from .rates import incident_rate_ratio, poisson_rate_ci
from .repeated import pass_at_k, pass_hat_k, repeated_runs

# judges and safety call uplift._undefined / uplift._z; they move to trainerlab.uplift.results
# (or trainerlab.stats.normal_quantile) when those modules are rewired to the statistics core.
from .results import _undefined, _z  # noqa: F401
from .study import flipped_examples, load_eval_results, uplift_study
from .style_control import StyleControlledBT
from .verdict import category_table, difference_table, power_statement, uplift_verdict

__all__ = [
    "proportion_ci",
    "rule_of_three",
    "paired_table",
    "paired_difference",
    "paired_difference_arrays",
    "paired_bootstrap",
    "mcnemar_exact",
    "paired_proportion_ci",
    "wilcoxon_signed_rank",
    "non_inferiority",
    "compare_by_category",
    "forest_plot",
    "flipped_items",
    "power_paired",
    "minimum_detectable_effect",
    "required_n",
    "sd_of_difference",
    "read_alpaca_eval",
    "preference_scores",
    "win_rate",
    "paired_preference_difference",
    "BradleyTerry",
    "judge_agreement",
    "cohen_kappa",
    "two_proportion_test",
    "poisson_rate_ci",
    "incident_rate_ratio",
    "diff_in_diff",
    "load_eval_results",
    "uplift_study",
    "uplift_verdict",
    "power_statement",
    "flipped_examples",
    "difference_table",
    "category_table",
    "OUTCOMES",
    "outcome_label",
    "choose_outcome",
    "pass_at_k",
    "pass_hat_k",
    "repeated_runs",
    "StyleControlledBT",
    "leaderboard_figure",
]
