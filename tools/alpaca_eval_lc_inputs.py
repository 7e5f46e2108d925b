"""Build the bundled inputs of AlpacaEval's length-controlled (LC) win rate from an alpaca_eval checkout.

AlpacaEval's ``length_controlled_v1`` GLM needs two inputs that the alpaca_eval repository does not
hold (its package downloads them from the Hugging Face dataset ``tatsu-lab/alpaca_eval`` at run time):
the per-instruction difficulty (``instruction_difficulty.csv``) and the annotations of the two
"gamed" baselines (``df_gamed.csv``: gpt4_1106_preview prompted to be verbose / concise, judged by
``weighted_alpaca_eval_gpt4_turbo``). Offline, this script rebuilds both from what the repository
does publish and writes them under ``data/external/alpaca_eval/lc/``:

- ``instruction_difficulty_estimated.csv``: the 805 difficulties d_i, estimated by maximum
  likelihood from the AlpacaEval 2 annotation files present in the checkout, holding each model's
  published GLM weights (intercept a_m, length weight b_m, difficulty weight c_m, from
  ``metrics/weights/weighted_alpaca_eval_gpt4_turbo/length_controlled_v1/``) fixed, with a weak
  Gaussian prior (precision ``--tau``) and a penalty (``--k``) that makes the published LC win
  rates of all AlpacaEval 2 models (``mean_i expit(a_m + c_m d_i)`` by construction) hold;
- ``gamed_baselines.csv``: per instruction, the character lengths of the outputs of
  gpt4_1106_preview and of its verbose and concise versions (``results/*/model_outputs.json``), and
  a short hash of the instruction (to check a file's prompts are AlpacaEval's, in the same order);
- copies of the published files used: the per-model weights, the AlpacaEval 1 and 2 leaderboards.

Usage: python tools/alpaca_eval_lc_inputs.py GIT_DIR [--commit SHA] [--out DIR]
(GIT_DIR: a clone of github.com/tatsu-lab/alpaca_eval; read with ``git show``, no work tree needed).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit

WEIGHTS = "src/alpaca_eval/metrics/weights/weighted_alpaca_eval_gpt4_turbo/length_controlled_v1/baseline_gpt4_1106_preview.csv"
LB1 = "src/alpaca_eval/leaderboards/data_AlpacaEval/alpaca_eval_gpt4_leaderboard.csv"
LB2 = "src/alpaca_eval/leaderboards/data_AlpacaEval_2/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv"
BASE, GAMED = "gpt4_1106_preview", ("gpt4_1106_preview_verbose", "gpt4_1106_preview_concise")


def _show(git: Path, commit: str, path: str) -> bytes | None:
    r = subprocess.run(["git", "--git-dir", str(git), "show", f"{commit}:{path}"], capture_output=True)
    return r.stdout if r.returncode == 0 else None


def instruction_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def _tanh_std_delta(len_baseline: np.ndarray, len_model: np.ndarray) -> np.ndarray:
    d = (len_baseline - len_model).astype(float)
    return np.tanh(d / np.nanstd(d, ddof=1))


def estimate_difficulty(off, y, ok, c, a2, c2, published, k=1e5, tau=0.1) -> np.ndarray:
    """MAP estimate of the difficulties: soft-label log likelihood of the models' verdicts (offsets
    ``off`` = a_m + b_m tanh(...), weights ``c``) + ``k`` x squared error of the published LC rates
    (``a2``, ``c2``, ``published`` in [0, 1]) + ``tau / 2`` ||d||^2."""
    y0 = np.nan_to_num(y)
    n = off.shape[1]

    def obj(d):
        eta = off + c[:, None] * d[None, :]
        p = expit(eta)
        ll = np.where(ok, y0 * eta - np.logaddexp(0, eta), 0).sum()
        gl = np.where(ok, (y0 - p) * c[:, None], 0).sum(0)
        q = expit(a2[:, None] + c2[:, None] * d[None, :])
        r = q.mean(1) - published
        f = -ll + k * np.sum(r**2) + tau / 2 * np.sum(d**2)
        g = -gl + 2 * k * (r[:, None] * q * (1 - q) * c2[:, None]).sum(0) / n + tau * d
        return f, g

    res = minimize(obj, np.zeros(n), jac=True, method="L-BFGS-B", options={"maxiter": 5000})
    return res.x


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("git_dir", type=Path)
    ap.add_argument("--commit", default="HEAD")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data/external/alpaca_eval/lc")
    ap.add_argument("--k", type=float, default=1e5)
    ap.add_argument("--tau", type=float, default=0.1)
    args = ap.parse_args(argv)
    git, commit, out = args.git_dir, args.commit, args.out
    out.mkdir(parents=True, exist_ok=True)
    for src, name in (
        (WEIGHTS, "weights_weighted_alpaca_eval_gpt4_turbo_length_controlled_v1.csv"),
        (LB1, "alpaca_eval_gpt4_leaderboard.csv"),
        (LB2, "weighted_alpaca_eval_gpt4_turbo_leaderboard.csv"),
    ):
        (out / name).write_bytes(_show(git, commit, src))
    weights = pd.read_csv(io.BytesIO(_show(git, commit, WEIGHTS)), index_col=0)
    weights.columns = ["b", "c", "a"]  # np.tanh(std_delta_len), instruction_difficulty, not_gamed_baseline
    lb2 = pd.read_csv(io.BytesIO(_show(git, commit, LB2)), index_col=0)
    outputs = {
        m: pd.DataFrame(json.loads(_show(git, commit, f"results/{m}/model_outputs.json"))) for m in (BASE, *GAMED)
    }
    instructions = outputs[BASE]["instruction"]
    for m in GAMED:
        assert (outputs[m]["instruction"] == instructions).all(), m
    gamed = pd.DataFrame(
        {"index": range(len(instructions)), "instruction_key": [instruction_key(t) for t in instructions]}
    )
    for m in (BASE, *GAMED):
        gamed[f"len_{m}"] = outputs[m]["output"].str.len().to_numpy()
    gamed.to_csv(out / "gamed_baselines.csv", index=False)

    names = subprocess.run(
        ["git", "--git-dir", str(git), "ls-tree", "-r", "--name-only", commit, "results/"],
        capture_output=True,
        text=True,
    ).stdout.split()
    rows = []
    for p in names:
        parts = p.split("/")
        if len(parts) != 4 or parts[2] != "weighted_alpaca_eval_gpt4_turbo" or parts[3] != "annotations.json":
            continue
        m = parts[1]
        if m not in weights.index:
            continue
        blob = _show(git, commit, p)
        if blob is None:  # large files can be absent from a partial clone
            continue
        df = pd.DataFrame(json.loads(blob))
        if len(df) != len(instructions) or (df["instruction"] != instructions).any():
            continue
        tx = _tanh_std_delta(df["output_1"].str.len().to_numpy(float), df["output_2"].str.len().to_numpy(float))
        y = df["preference"].astype(float).replace({0.0: 1.5}).to_numpy() - 1
        rows.append((m, tx, y))
    print(f"{len(rows)} AlpacaEval 2 annotation files with published weights", file=sys.stderr)
    ms = [r[0] for r in rows]
    tx = np.array([r[1] for r in rows])
    y = np.array([r[2] for r in rows])
    ok = np.isfinite(tx) & np.isfinite(y)
    off = weights.loc[ms, "a"].to_numpy()[:, None] + weights.loc[ms, "b"].to_numpy()[:, None] * np.nan_to_num(tx)
    lbm = [m for m in weights.index if m in lb2.index and m != BASE]
    d = estimate_difficulty(
        off,
        y,
        ok,
        weights.loc[ms, "c"].to_numpy(),
        weights.loc[lbm, "a"].to_numpy(),
        weights.loc[lbm, "c"].to_numpy(),
        lb2.loc[lbm, "length_controlled_winrate"].to_numpy() / 100,
        k=args.k,
        tau=args.tau,
    )
    pd.DataFrame({"index": range(len(d)), "instruction_difficulty": d}).to_csv(
        out / "instruction_difficulty_estimated.csv", index=False, float_format="%.10g"
    )
    gap = 100 * expit(weights.loc[lbm, "a"].to_numpy()[:, None] + weights.loc[lbm, "c"].to_numpy()[:, None] * d).mean(1)
    gap -= lb2.loc[lbm, "length_controlled_winrate"].to_numpy()
    print(
        f"AlpacaEval 2 LC rates from the estimate: median |gap| {np.median(np.abs(gap)):.3f}, max {np.abs(gap).max():.3f} "
        f"points over {len(lbm)} models; {len(ms)} models' verdicts",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
