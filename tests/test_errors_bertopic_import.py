"""BERTopic imports ``transformers`` when it is installed (the test extra's crowd-kit brings it);
trainerlab uses none of BERTopic's text-generation representations, so clustering must neither
import it nor let its torch warning reach stderr (a report page shows stderr)."""

import subprocess
import sys

import pytest

CODE = """
import sys
from trainerlab.errors import cluster_failures
texts = [f"refund {i} was charged twice" for i in range(12)] + [f"parcel {i} arrived late" for i in range(12)]
cluster_failures(texts, seed=0)
print("transformers" in sys.modules)
"""
# then, in the same process: what a team's notebook may do after clustering
THEN_IMPORT = "sys.stdout.flush()\nprint('clustered', file=sys.stderr, flush=True)\nimport transformers\nprint(transformers.__name__)\n"


@pytest.fixture(scope="module")
def clustered_then_imported():
    """One process clusters, prints whether ``transformers`` was loaded, then imports it itself.

    Returns ``(returncode, stdout lines, stderr up to the clustering's end, whole stderr)``; both
    tests read this one run (a process that clusters costs a few CPU-seconds).
    """
    pytest.importorskip("transformers")  # installed by the test extra (crowd-kit); the default install lacks it
    done = subprocess.run([sys.executable, "-c", CODE + THEN_IMPORT], capture_output=True, text=True, timeout=300)
    clustering_stderr = done.stderr.split("clustered\n", 1)[0]
    return done.returncode, done.stdout.strip().splitlines(), clustering_stderr, done.stderr


def test_clustering_does_not_import_transformers_even_when_installed(clustered_then_imported):
    returncode, lines, clustering_stderr, stderr = clustered_then_imported
    assert returncode == 0, stderr
    assert lines[-2] == "False"
    assert "PyTorch was not found" not in clustering_stderr


def test_a_team_can_still_import_transformers_after_clustering(clustered_then_imported):
    returncode, lines, _, stderr = clustered_then_imported
    assert returncode == 0, stderr
    assert lines[-1] == "transformers"
