"""One module per CLI verb; each exposes ``register(subparsers)``.

A verb's parser gets ``--help`` from argparse, ``--db`` via
:func:`trainerlab.cli.add_db` and ``--json`` via :func:`trainerlab.cli.add_json`,
and sets ``func`` to a callable taking the parsed args and returning an exit code.
"""
