"""The real-data study: the GPT-4 judge's length bias across the bundled AlpacaEval models
and the two Mistral judge files (``docs/judges.md``); reads the bundled files, not the warehouse.
"""

from __future__ import annotations

from pathlib import Path

from .. import uplift
from .alpaca_eval import alpaca_eval_frame, alpaca_preferences, identical_judge_files
from .biases import length_bias_pairwise, position_bias, self_preference
from .length_control import instruction_difficulty, length_controlled_win_rate, win_probability_by_length


def alpaca_eval_study(
    root: str | Path | None = None,
    judge_dir: str = "alpaca_eval_gpt4",
    mistral: str = "Mistral-7B-Instruct-v0.2",
    bins: int = 8,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict:
    """The real-data evidence: the GPT-4 judge's length bias across the AlpacaEval models,
    and the two bundled Mistral judge files (``docs/judges.md``)."""
    from .. import paths

    root = Path(root) if root else paths.external_data_dir() / "alpaca_eval"
    files = sorted((root / "results").glob(f"*/{judge_dir}/annotations.json*"))
    out: dict = {"root": str(root), "n_files": len(files)}
    if not files:
        out["reason"] = f"no {judge_dir} annotation files under {root / 'results'}"
        return out
    frame = alpaca_eval_frame(files)
    out["models"] = sorted(frame["model"].unique())
    frame = frame[frame["score"].notna()].copy()
    many = frame["model"].nunique() >= 3
    if many:
        frame["instruction_difficulty"] = instruction_difficulty(frame)
    out["lc"] = (
        length_controlled_win_rate(frame, difficulty="instruction_difficulty" if many else None)
        .sort_values("win_rate", ascending=False)
        .reset_index(drop=True)
    )
    plain = length_controlled_win_rate(frame).set_index("model")["lc_win_rate"]
    out["lc"]["lc_without_difficulty"] = out["lc"]["model"].map(plain)
    pf = alpaca_preferences(frame)
    pooled = length_bias_pairwise(pf, ties="half")
    out["pooled"] = pooled.iloc[0].to_dict() if len(pooled) else uplift._undefined("no data")
    out["by_model"] = length_bias_pairwise(pf.assign(judge=pf["model_a"]), ties="half").rename(
        columns={"judge": "model"}
    )
    out["curve"] = win_probability_by_length(frame, bins=bins, by="model", cluster="instruction")
    out["position"] = position_bias(pf)
    mdir = root / "results" / mistral
    pair = [
        mdir / "alpaca_eval_gpt4_turbo_fn" / "annotations.json.gz",
        mdir / "alpaca_eval_cot_gpt4_turbo_fn" / "annotations.json.gz",
    ]
    if all(p.exists() for p in pair):
        out["mistral_files"] = identical_judge_files(*pair, n_boot=n_boot, seed=seed)
        cot = alpaca_preferences(alpaca_eval_frame([pair[1]], positions=True))
        out["mistral_position"] = position_bias(cot)
    out["self_preference"] = self_preference(
        pf,
        "alpaca_eval_gpt4",
        "gpt-4",
        {"gpt4_1106_preview": "gpt-4", "text_davinci_003": "gpt-3.5"},
        reference_judge=None,
    )
    return out


TWO_JUDGE_MODELS = ("Mixtral-8x7B-Instruct-v0.1", "cohere", "gemini-pro", "gpt-3.5-turbo-0301")
TWO_JUDGES = ("alpaca_eval_gpt4_turbo_fn", "alpaca_eval_cot_gpt4_turbo_fn")


def alpaca_eval_two_judges(
    root: str | Path | None = None,
    models: tuple[str, ...] = TWO_JUDGE_MODELS,
    judges: tuple[str, str] = TWO_JUDGES,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict:
    """Two LLM judges on the same AlpacaEval 2 pairs (each model against ``gpt4_1106_preview``).

    Per model (``by_model``, one row each): the pairs both judged, their agreement (percent
    agreement with its Wilson CI, Cohen's kappa with a bootstrap CI), each judge's win rate
    for the model (ties as half) and the paired gap (second judge minus first), the verdicts
    each file lacks (``n_missing_*``: a null ``preference``, counted and left out), each
    judge's length slope (log-odds per unit log length ratio, clustered by instruction) and
    the share of decisive verdicts that went to the answer shown first, where the file records
    the order (``referenced_models``, the CoT judge). ``files`` keeps each model's
    :func:`identical_judge_files` result (the disagreements per AlpacaEval source)."""
    import numpy as np
    import pandas as pd

    from .. import paths
    from .judge_vs_judge import win_rate_gap

    root = Path(root) if root else paths.external_data_dir() / "alpaca_eval"
    rows, files = [], {}
    for model in models:
        pair = [root / "results" / model / j / "annotations.json.gz" for j in judges]
        if not all(p.exists() for p in pair):
            continue
        same = identical_judge_files(*pair, n_boot=n_boot, seed=seed)
        files[model] = same
        frames = [alpaca_eval_frame([p], positions=True) for p in pair]
        pf = pd.concat(
            [alpaca_preferences(f).assign(judge=j) for f, j in zip(frames, judges)],
            ignore_index=True,
        )
        ag = same["agreement"]
        gap = win_rate_gap(pf, judges[1], judges[0], n_boot=n_boot, seed=seed)
        slopes = length_bias_pairwise(pf, ties="half").set_index("judge")
        pos = position_bias(pf).set_index("judge")
        row = {
            "model": model,
            "n_pairs": same["n_pairs"],
            "meaningful": same["meaningful"],
            "percent_agreement": ag["percent_agreement"]["estimate"],
            "pa_ci_low": ag["percent_agreement"]["ci_low"],
            "pa_ci_high": ag["percent_agreement"]["ci_high"],
            "kappa": ag["cohen_kappa"]["estimate"],
            "kappa_ci_low": ag["cohen_kappa"]["ci_low"],
            "kappa_ci_high": ag["cohen_kappa"]["ci_high"],
            "n_disagree": int(len(same["disagreements"])),
            "win_rate_gap": gap.get("estimate", np.nan),
            "win_rate_gap_ci_low": gap.get("ci_low", np.nan),
            "win_rate_gap_ci_high": gap.get("ci_high", np.nan),
        }
        for f, j, tag in zip(frames, judges, ("plain", "cot")):
            row[f"n_missing_{tag}"] = int(f["score"].isna().sum())
            row[f"win_rate_{tag}"] = float(f["score"].mean() * 100)
            row[f"length_slope_{tag}"] = slopes["estimate"].get(j, np.nan)
            row[f"length_slope_{tag}_ci_low"] = slopes["ci_low"].get(j, np.nan)
            row[f"length_slope_{tag}_ci_high"] = slopes["ci_high"].get(j, np.nan)
            row[f"first_wins_{tag}"] = pos["first_wins"].get(j, np.nan)
            row[f"first_wins_{tag}_ci_low"] = (
                pos["first_wins_ci_low"].get(j, np.nan) if "first_wins_ci_low" in pos else np.nan
            )
            row[f"first_wins_{tag}_ci_high"] = (
                pos["first_wins_ci_high"].get(j, np.nan) if "first_wins_ci_high" in pos else np.nan
            )
            row[f"position_reason_{tag}"] = pos["reason"].get(j)
        rows.append(row)
    out = {"root": str(root), "judges": list(judges), "by_model": pd.DataFrame(rows), "files": files}
    if not rows:
        out["reason"] = f"no model under {root / 'results'} has both {judges[0]} and {judges[1]} annotations"
    return out
