"""trainerlab: ``import trainerlab as tl; tl.open().annotations(task="safety")`` (docs/python.md)."""

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:  # PEP 562: the public names (trainerlab/_public.py) load on first use
    from ._public import resolve

    return resolve(name, globals())


def __dir__() -> list[str]:
    from ._public import __all__

    return sorted(set(globals()) | set(__all__))
