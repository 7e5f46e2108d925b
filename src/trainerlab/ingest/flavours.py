"""How a tool's export is recognised from its first record (used by the format detection in
:mod:`trainerlab.ingest.readers` and by the adapters): plain predicates on parsed JSON, with no
imports from the readers or the adapters, so neither depends on the other."""

from __future__ import annotations

PANDALM_JUDGE_FIELDS = ("gpt_result", "pandalm_result")


def is_pandalm(first) -> bool:
    """A PandaLM test-set record (``cmp_key`` and ``annotator1``) or a judge's verdict (``idx`` and a result)."""
    return isinstance(first, dict) and (
        ("cmp_key" in first and "annotator1" in first)
        or ("idx" in first and bool(set(first) & set(PANDALM_JUDGE_FIELDS)))
    )


def is_arena(first) -> bool:
    """An arena battle: ``question_id``, ``model_a``, ``model_b``, ``winner``."""
    return isinstance(first, dict) and {"model_a", "model_b", "winner", "question_id"} <= set(first)


def is_openai_evals(first) -> bool:
    """The ``spec`` line an OpenAI evals run log starts with."""
    return isinstance(first, dict) and isinstance(first.get("spec"), dict) and "eval_name" in first["spec"]


def is_inspect(doc) -> bool:
    """An Inspect AI JSON log: one object with ``eval`` and ``samples``."""
    return isinstance(doc, dict) and "eval" in doc and "samples" in doc


def is_promptfoo(doc) -> bool:
    """A promptfoo output: ``results.results`` is a list (with ``evalId`` or ``results.prompts``)."""
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("results"), dict)
        and isinstance(doc["results"].get("results"), list)
        and ("evalId" in doc or "prompts" in doc["results"])
    )
