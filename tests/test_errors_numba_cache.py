"""UMAP's compiled functions are cached under trainerlab's cache folder (docs/errors.md), also
when the first thing a process does is fit a FailureClusterer that uses UMAP (the lexical
pipeline; numba reads NUMBA_CACHE_DIR once, at its own import). The semantic default imports
neither umap nor numba (tests/test_errors_large_n.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# after conftest.numba_cache has filled the project's cache (once for all workers), the probe is a cached fit,
# not a third compilation of UMAP on two busy cores; its check of the cache folder stands as before
pytestmark = pytest.mark.usefixtures("numba_cache")

PROBE = """
import random
from trainerlab.errors import FailureClusterer
rng = random.Random(0)
money = "refund denied policy order account money charge bank".split()
parcel = "parcel late depot courier truck delivery address".split()
texts = [" ".join(rng.sample(money, 4)) for _ in range(30)] + [" ".join(rng.sample(parcel, 4)) for _ in range(30)]
model = FailureClusterer(seed=0, cache=False, min_cluster_size=5, embedder="lexical").fit(texts)  # the UMAP path
assert model.topic_model_ is not None, model.reason_  # the BERTopic path ran
import numba
from trainerlab import paths
print("numba cache dir:", numba.config.CACHE_DIR)
print("expected:", paths.cache_dir() / "numba")
"""


@pytest.mark.slow
def test_a_fresh_process_fitting_first_caches_umap_under_the_cache_folder():
    # the project's own cache folder (not a temporary one): warm after the first run, so the
    # test costs a cached fit, not a fresh compilation of UMAP
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    expected = Path(lines[-1].removeprefix("expected: "))
    assert f"numba cache dir: {expected}" in lines, out.stdout[-500:]
    # umap's own functions are cached there (index files of the compiled functions)
    assert any(expected.glob("umap*/*.nbi")), "no umap cache index"
