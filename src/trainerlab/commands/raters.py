"""`trainerlab raters list|set`: rater ids, their display names and vendors."""

from __future__ import annotations

from ..cli import UsageError, add_db, add_json, emit


def register(sub) -> None:
    p = sub.add_parser(
        "raters",
        help="list raters, or set a rater's display name / vendor",
        description="Raters are identified by their id (annotations.annotator_id; Label Studio's "
        "user id). A display name (from an export, or set here) is kept in the raters "
        "table; published pages show only the id and initials: 'rater 13 (J.D.)'.",
    )
    rsub = p.add_subparsers(dest="action", metavar="ACTION")
    ls = rsub.add_parser("list", help="every rater: id, page label, display name, vendor, annotations")
    add_db(ls)
    add_json(ls)
    ls.set_defaults(func=_list)
    st = rsub.add_parser("set", help="set a rater's display name and/or vendor")
    st.add_argument("rater_id", metavar="ID")
    st.add_argument("--name", metavar="N", help="the person's name or e-mail (pages show initials only)")
    st.add_argument("--vendor", metavar="V", help="the vendor the rater works for")
    add_db(st)
    add_json(st)
    st.set_defaults(func=_set)
    p.set_defaults(func=_list, db=None, json=False)


def _list(args) -> int:
    from ..raters import list_raters
    from ..warehouse import connect, ensure_exists

    ensure_exists(args.db)
    with connect(args.db, read_only=True) as wh:  # listing only reads
        frame = list_raters(wh)
    emit(args, {"raters": frame}, lambda r: frame.fillna("").to_string(index=False) if len(frame) else "no raters yet")
    return 0


def _set(args) -> int:
    from ..raters import set_rater
    from ..warehouse import connect, ensure_exists

    ensure_exists(args.db)
    try:
        with connect(args.db) as wh:
            row = set_rater(wh, args.rater_id, name=args.name, vendor=args.vendor)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    emit(
        args,
        row,
        lambda r: (
            f"{r['annotator_id']}: shown as {r['label']}" + (f", vendor {r['vendor']}" if r.get("vendor") else "")
        ),
    )
    return 0
