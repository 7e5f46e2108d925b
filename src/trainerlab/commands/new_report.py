"""`trainerlab new-report NAME`: start a report notebook from notebooks/_template.ipynb."""

from __future__ import annotations

from ..cli import UsageError, add_json, emit


def register(sub) -> None:
    p = sub.add_parser(
        "new-report",
        help="copy the report template to notebooks/NAME.ipynb",
        description="Copy notebooks/_template.ipynb (parameters cell, verdict, reportkit setup) "
        "to notebooks/NAME.ipynb with fresh cell ids and no outputs. See docs/reports.md.",
    )
    p.add_argument("name", help="lower-case letters, digits, '-' and '_'")
    p.add_argument("--title", help="the report's title (default: from NAME)")
    add_json(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    import nbformat

    from ..reports.runner import NAME_RE, notebooks_root  # first: it keeps nbformat's import light

    if not NAME_RE.match(args.name):
        raise UsageError(
            f"{args.name!r} is not a report name (lower-case letters, digits, '-' and '_'; not starting with '_')"
        )
    root = notebooks_root()
    template = root / "_template.ipynb"
    target = root / f"{args.name}.ipynb"
    if not template.exists():
        raise UsageError(f"{template}: the report template is missing")
    if target.exists():
        raise UsageError(f"{target} exists already")
    nb = nbformat.read(str(template), as_version=4)
    title = args.title or args.name.replace("_", " ").replace("-", " ").capitalize()
    import secrets

    for cell in nb.cells:
        cell["id"] = secrets.token_hex(4)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    first = nb.cells[0] if nb.cells else None
    if first is not None and first.cell_type == "markdown" and first.source.startswith("# "):
        lines = first.source.splitlines()
        first.source = "\n".join([f"# {title}", *lines[1:]])
    nbformat.validate(nb)
    nbformat.write(nb, str(target))
    emit(
        args,
        {"report": args.name, "notebook": str(target)},
        lambda d: f"created {d['notebook']}; render it with `trainerlab report {d['report']}`",
    )
    return 0
