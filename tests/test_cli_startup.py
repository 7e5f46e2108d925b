"""What a ``trainerlab`` process loads before its verb runs: only what the verb needs.

Every CLI run pays its imports (a test suite runs hundreds of them): ``scipy.stats`` alone
(with the scipy subpackages it pulls in) was 0.6 CPU-seconds of each ``trainerlab dataset`` run,
loaded through the statistics core for two functions the verb never calls. The statistics core
now imports it inside those functions.
"""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
import trainerlab.cli, trainerlab.stats, trainerlab.dataqa, trainerlab.datasets
trainerlab.cli.build_parser()
print(sorted(m for m in ("scipy.stats", "statsmodels", "sklearn") if m in sys.modules))
"""


def test_the_statistics_core_and_datasets_do_not_load_scipy_stats_at_import():
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_lazy_scipy_stats_functions_still_work():
    from trainerlab.stats import binomial_demonstration_power, binomial_test, proportion_margin_n

    # exact binomial: P(X >= 9 | n = 10, p = 0.5) = 11/1024 (hand count: C(10,9) + C(10,10))
    assert abs(binomial_test(9, 10, 0.5, alternative="greater") - 11 / 1024) < 1e-12
    crit, power = binomial_demonstration_power(10, 0.5, 0.9)
    assert int(crit) == 9  # the smallest c with P(X >= c | 0.5) <= 0.05: P(X >= 9) = 0.0107, P(X >= 8) = 0.0547
    assert abs(float(power) - (10 * 0.9**9 * 0.1 + 0.9**10)) < 1e-12
    assert proportion_margin_n(0.5, 0.1)["n"] > 0
