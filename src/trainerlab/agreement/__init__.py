"""Inter-annotator agreement (moved as is into coefficients.py; the next commit splits it by layer)."""

from . import coefficients as _moved

globals().update({k: v for k, v in vars(_moved).items() if not k.startswith("__") or k == "__all__"})
