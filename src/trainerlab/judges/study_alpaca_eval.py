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
