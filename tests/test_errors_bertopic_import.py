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


def test_clustering_does_not_import_transformers_even_when_installed():
    pytest.importorskip("transformers")  # installed by the test extra (crowd-kit); the default install lacks it
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
    assert "PyTorch was not found" not in done.stderr


def test_a_team_can_still_import_transformers_after_clustering():
    pytest.importorskip("transformers")
    code = CODE + "import transformers\nprint(transformers.__name__)\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "transformers"
