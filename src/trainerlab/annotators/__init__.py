"""Annotator quality (moved as is into dawid_skene.py; the next commit splits it by layer)."""

from . import dawid_skene as _moved

globals().update({k: v for k, v in vars(_moved).items() if not k.startswith("__") or k == "__all__"})
