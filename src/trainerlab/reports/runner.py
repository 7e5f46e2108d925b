"""Render one report: validate, execute with papermill, convert, write the manifest, move ``latest``.

The contract (see docs/reports.md):

* Only names of notebooks in the notebooks folder are accepted (no paths, no
  ``..``); parameters are checked against the notebook's ``parameters`` cell
  before anything runs (:class:`ReportUsageError`, exit 2).
* A run writes ``reports/NAME/RUN_ID/{report.ipynb, report.html, manifest.json}``;
  the manifest is written first as ``running`` and rewritten at the end.
* Fail closed: an error in any cell (``sys.exit`` included, whatever its code),
  a cell past the timeout, a dead kernel, or a broken verdict contract gives
  ``status: failed`` with the failing cell's message, no ``report.html``, and
  ``latest`` left where it was.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import logging
import math
import os
import platform
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from .. import __version__, paths
from ..reportkit import VERDICT_MIME
from .kernel import kernel_manager_class
from .parameters import ParameterError, read_parameters, resolve_parameters

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\Z")  # \Z: `$` would let a final newline through
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}\Z")
DEFAULT_TIMEOUT = 600
PAGE_BUDGET_BYTES = 1_500_000
KEY_PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "duckdb",
    "statsmodels",
    "scikit-learn",
    "numba",
    "plotly",
    "papermill",
    "nbconvert",
    "nbclient",
    "nbformat",
    "ipykernel",
    "jupyter_client",
    "pyzmq",
)


class ReportUsageError(ValueError):
    """Unusable request (unknown name, bad parameter, missing warehouse): exit 2, nothing runs."""


@dataclass
class RunResult:
    report: str
    run_id: str
    status: str  # ok | failed
    html: str | None
    manifest: str
    duration_s: float
    error: dict | None = None
    verdict: dict | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_json(self) -> dict:
        out = {
            "report": self.report,
            "run_id": self.run_id,
            "status": self.status,
            "html": self.html,
            "manifest": self.manifest,
            "duration_s": self.duration_s,
        }
        if self.error:
            out["error"] = self.error
        return out


# --------------------------------------------------------------------------- names and places
def notebooks_root(notebooks_dir: str | os.PathLike | None = None) -> Path:
    """Where report notebooks live: the argument, ``$TRAINERLAB_NOTEBOOKS``, or ``notebooks/``."""
    if notebooks_dir:
        return Path(notebooks_dir).resolve()
    env = os.environ.get("TRAINERLAB_NOTEBOOKS")
    return Path(env).resolve() if env else paths.notebooks_dir()


def reports_root(reports_dir: str | os.PathLike | None = None) -> Path:
    return Path(reports_dir).resolve() if reports_dir else paths.reports_dir()


def list_reports(notebooks_dir: str | os.PathLike | None = None) -> list[str]:
    """Names of the report notebooks (``_``-prefixed notebooks such as the template are not reports)."""
    root = notebooks_root(notebooks_dir)
    if not root.is_dir():
        return []
    return sorted(p.stem for p in root.glob("*.ipynb") if NAME_RE.match(p.stem))


def resolve_report(name: str, notebooks_dir: str | os.PathLike | None = None) -> Path:
    """The notebook of a known report name; anything else is a :class:`ReportUsageError`."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ReportUsageError(
            f"{name!r} is not a report name (lower-case letters, digits, '-' and '_'; no paths, no '..')"
        )
    known = list_reports(notebooks_dir)
    if name not in known:
        raise ReportUsageError(
            f"unknown report {name!r}; known reports: {', '.join(known) or 'none'} (in {notebooks_root(notebooks_dir)})"
        )
    return notebooks_root(notebooks_dir) / f"{name}.ipynb"


def new_run_id(now: _dt.datetime | None = None) -> str:
    now = now or _dt.datetime.now(_dt.UTC)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


# --------------------------------------------------------------------------- audit facts
def git_state(root: Path | None = None) -> dict:
    root = root or paths.project_root()
    out: dict[str, Any] = {"git_commit": None, "git_dirty": None}
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        if commit.returncode == 0:
            out["git_commit"] = commit.stdout.strip()
            status = subprocess.run(
                ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=20,
            )
            if status.returncode == 0:
                out["git_dirty"] = bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def package_versions() -> dict[str, str | None]:
    from importlib import metadata

    out = {}
    for name in KEY_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _iso(moment: _dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _write_json_atomic(path: Path, doc: dict) -> None:
    from ..cli import dumps

    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")
    tmp.write_text(dumps(doc) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock (POSIX ``flock``) held for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# --------------------------------------------------------------------------- latest
def read_latest(report_dir: Path) -> str | None:
    link = report_dir / "latest"
    if link.is_symlink():
        return os.readlink(link)
    return None


def _update_latest(report_dir: Path, run_id: str, started_at: str) -> bool:
    """Point ``latest`` at ``run_id`` unless a run that started later already holds it."""
    with file_lock(report_dir / ".lock"):
        current = read_latest(report_dir)
        if current and current != run_id:
            try:
                held = json.loads((report_dir / current / "manifest.json").read_text())
                if held.get("status") == "ok" and str(held.get("started_at", "")) > started_at:
                    return False
            except (OSError, ValueError):
                pass
        tmp = report_dir / f".latest.{os.getpid()}.{secrets.token_hex(3)}"
        os.symlink(run_id, tmp)
        os.replace(tmp, report_dir / "latest")  # rename(2): readers see the old or the new run, never neither
        return True


# --------------------------------------------------------------------------- execution
def _first_error(nb) -> dict | None:
    """The first failing cell of an executed notebook, as the manifest reports it."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                ename, evalue = out.get("ename", "Error"), str(out.get("evalue", ""))
                return _error_doc(index, cell, ename, evalue)
        pm = cell.get("metadata", {}).get("papermill", {})
        if pm.get("exception") or pm.get("status") == "failed":
            return _error_doc(index, cell, "CellExecutionError", "the cell failed without an error output")
    return None


def _error_doc(index: int | None, cell, ename: str, evalue: str) -> dict:
    from ..pii import redact

    # The manifest sits next to the page and the index shows its message: an error quoting data is redacted.
    evalue = redact(evalue.strip())
    first = evalue.splitlines()[0] if evalue else ""
    message = f"{ename}: {first}" if first else ename
    return {
        "cell": index,
        "execution_count": cell.get("execution_count") if cell is not None else None,
        "ename": ename,
        "evalue": evalue[:2000],
        "message": message[:500],
    }


def _unexecuted_cell(nb) -> tuple[int | None, Any]:
    for index, cell in enumerate(nb.cells):
        if (
            cell.cell_type == "code"
            and cell.source.strip()
            and cell.get("metadata", {}).get("papermill", {}).get("status") == "pending"
        ):
            return index, cell
    return None, None


def extract_verdict(nb) -> tuple[dict | None, str | None]:
    """The verdict record, or a reason why the notebook breaks the verdict contract."""
    first_visible = None
    verdicts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                continue
            if first_visible is None:
                first_visible = out
            data = out.get("data", {})
            if VERDICT_MIME in data:
                verdicts.append(data[VERDICT_MIME])
    if not verdicts:
        return None, "the report shows no verdict (call trainerlab.reportkit.verdict first)"
    if len(verdicts) > 1:
        return None, f"the report shows {len(verdicts)} verdicts; it must show exactly one"
    if VERDICT_MIME not in (first_visible or {}).get("data", {}):
        return None, "the verdict must be the report's first output"
    record = verdicts[0]
    if isinstance(record, str):
        record = json.loads(record)
    return dict(record), None


def _execute(
    nb_path: Path,
    out_path: Path,
    params: dict,
    timeout: float,
    start_timeout: float,
    retries: int,
    cwd: Path,
    progress: dict,
) -> Exception | None:
    """Run papermill; return the exception that stopped it (None on success).

    ``progress["cell"]`` is kept at the index of the cell being executed (via
    nbclient's ``on_cell_start`` hook), so a timeout or a dead kernel can name it.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from .engine import register

    engine_name = register()
    logging.getLogger("papermill").setLevel(logging.CRITICAL)
    logging.getLogger("traitlets").setLevel(logging.CRITICAL)

    def on_cell_start(cell, cell_index, **_):
        progress["cell"] = cell_index
        progress["started"] = True

    last: Exception | None = None
    for attempt in range(retries + 1):
        ipc_dir = tempfile.mkdtemp(prefix="tlk-")
        progress.update(cell=None, started=False, attempts=attempt + 1)
        manager = kernel_manager_class(ipc_dir)
        try:
            pm.execute_notebook(
                str(nb_path),
                str(out_path),
                parameters=params,
                progress_bar=False,
                log_output=False,
                start_timeout=start_timeout,
                execution_timeout=timeout,
                cwd=str(cwd),
                kernel_manager_class=manager,
                engine_name=engine_name,
                shutdown_kernel="immediate",
                on_cell_start=on_cell_start,
            )
            return None
        except Exception as exc:  # noqa: BLE001 - every failure becomes a failed run
            last = exc
            # Retry only when the kernel never got to run a cell (a start-up failure).
            if progress["started"] or isinstance(exc, PapermillExecutionError) or attempt == retries:
                return exc
            time.sleep(0.5 * (attempt + 1))
        finally:
            progress["kernel"] = getattr(manager, "started_as", None)  # "warm" (forked) or "plain"
            shutil.rmtree(ipc_dir, ignore_errors=True)
    return last


def prepare_run(
    name: str,
    *,
    parameters: dict | None = None,
    text_parameters: dict | None = None,
    db: str | os.PathLike | None = None,
    notebooks_dir=None,
) -> tuple[Path, dict, dict]:
    """Validate a request without running anything: (notebook, resolved parameters, given)."""
    nb_path = resolve_report(name, notebooks_dir)
    try:
        declared = read_parameters(nb_path)
    except ParameterError as exc:
        raise ReportUsageError(str(exc)) from exc
    if "db" not in declared:
        raise ReportUsageError(f"{nb_path}: the parameters cell must declare `db` (see docs/reports.md)")
    given = dict(parameters or {})
    text = dict(text_parameters or {})
    for source in (given, text):
        if "db" in source:
            value = source.pop("db")
            if db is None:
                db = value
    try:
        params = resolve_parameters(declared, given, text)
    except ParameterError as exc:
        raise ReportUsageError(f"{name}: {exc}") from exc
    from ..warehouse import locate

    target = locate(db)  # a DuckDB path or an engine URL (docs/engines.md)
    db_file = target.path if target.is_file else target.text
    if target.is_file and not target.path.exists():
        raise ReportUsageError(
            f"{db_file}: no warehouse here (run `trainerlab demo` or `trainerlab ingest` first, or pass --db)"
        )
    params["db"] = str(db_file)
    shown_given = {**given, **{k: params[k] for k in text}}
    _check_values(name, db_file, shown_given, declared)
    return nb_path, params, shown_given


def warehouse_label(db: str | os.PathLike) -> str:
    """The warehouse path as pages and the index show it: relative to the project root when inside it."""
    from ..engines import urls

    if "://" in str(db):  # an engine URL: shown without its password
        return urls.redact(str(db))
    path = Path(db).resolve()
    try:
        return path.relative_to(paths.project_root()).as_posix()
    except ValueError:
        return str(path)


def _check_values(name: str, db_file: Path | str, given: dict, declared: dict) -> None:
    """Given task/vendor/suite/model... values must be in the warehouse (exit 2 listing them)."""
    from .warehouse_values import CHECKED_DEFAULTS, ENUMERABLE, UnknownValue, check_enumerable

    if not any(k in ENUMERABLE and v not in ("", None) for k, v in given.items()) and not any(
        n in declared and n not in given and declared[n].default not in ("", None) for n in CHECKED_DEFAULTS
    ):
        return
    from ..warehouse import connect

    try:
        with connect(db_file, read_only=True) as wh:
            check_enumerable(wh, name, given, declared, warehouse_label(db_file))
    except UnknownValue as exc:
        raise ReportUsageError(str(exc)) from None
    except Exception:  # noqa: BLE001 - a warehouse that cannot be opened now (busy, damaged) fails the run
        return  # as before, with the reason in its manifest; the check is a courtesy on top


def run_report(
    name: str,
    *,
    parameters: dict | None = None,
    text_parameters: dict | None = None,
    run_id: str | None = None,
    db: str | os.PathLike | None = None,
    timeout: float | None = None,
    notebooks_dir: str | os.PathLike | None = None,
    reports_dir: str | os.PathLike | None = None,
    job: str | None = None,
    period: str | None = None,
    start_timeout: float = 60,
    retries: int = 2,
    standalone: bool = False,
) -> RunResult:
    """Render one report. Raises :class:`ReportUsageError` before running anything when the request is unusable.

    Parameters
    ----------
    name : str
        A report name (``notebooks/NAME.ipynb``).
    parameters, text_parameters : dict, optional
        Typed values (Python, ``reports.toml``) and command-line strings
        (converted to each parameter's declared type).
    run_id : str, optional
        The run folder's name; default ``YYYYMMDDTHHMMSSZ-xxxxxx``.
    timeout : float, optional
        Seconds per cell (default ``$TRAINERLAB_CELL_TIMEOUT`` or 600).
    reports_dir : path, optional
        Where runs go (default ``$TRAINERLAB_REPORTS`` or ``reports/``).
    standalone : bool
        Write ``report.html`` as one self-contained file (plotly.js inside, no link to
        any local file): a page to attach to an e-mail.
    """
    nb_path, params, given = prepare_run(
        name, parameters=parameters, text_parameters=text_parameters, db=db, notebooks_dir=notebooks_dir
    )
    if timeout is None:
        try:
            timeout = float(os.environ.get("TRAINERLAB_CELL_TIMEOUT", DEFAULT_TIMEOUT))
        except ValueError:
            raise ReportUsageError(
                f"TRAINERLAB_CELL_TIMEOUT: not a number of seconds: {os.environ['TRAINERLAB_CELL_TIMEOUT']!r}"
            ) from None
    if not math.isfinite(timeout) or timeout <= 0:  # NaN passes `<= 0`
        raise ReportUsageError(f"timeout must be positive (a finite number of seconds), got {timeout}")
    if run_id is None:
        run_id = new_run_id()
    elif not RUN_ID_RE.match(run_id) or run_id == "latest":
        raise ReportUsageError(f"{run_id!r} is not a usable run id (letters, digits, '.', '_', '-'; not 'latest')")
    from ..warehouse import WarehouseBusy, WarehouseUnusable, connect

    fingerprint, open_error = None, None
    try:
        with connect(params["db"], read_only=True) as wh:
            fingerprint = wh.fingerprint()
    except (WarehouseBusy, WarehouseUnusable):
        raise  # before any run folder: busy (retry) or not a warehouse (exit 2) is no failed run
    except Exception as exc:  # noqa: BLE001
        open_error = {
            "cell": None,
            "execution_count": None,
            "ename": type(exc).__name__,
            "evalue": str(exc)[:2000],
            "message": f"could not read the warehouse: {exc}"[:500],
        }
    root = reports_root(reports_dir)
    report_dir = root / name
    report_dir.mkdir(parents=True, exist_ok=True)
    run_dir = report_dir / run_id
    try:
        run_dir.mkdir()
    except FileExistsError:
        raise ReportUsageError(f"{run_dir} exists already: choose another --run-id") from None

    t0 = time.perf_counter()
    started = _now()
    log.info("%s: rendering run %s on %s", name, run_id, params["db"])
    log.debug("%s: parameters %s", name, params)
    manifest_path = run_dir / "manifest.json"
    manifest: dict[str, Any] = {
        "report": name,
        "run_id": run_id,
        "status": "running",
        "parameters": params,
        "parameters_given": given,
        "started_at": _iso(started),
        "finished_at": None,
        "duration_s": None,
        "trainerlab": {"version": __version__, **git_state()},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
        "seed": params.get("seed"),
        "timeout_s": timeout,
        "notebook": str(nb_path.relative_to(paths.project_root()))
        if nb_path.is_relative_to(paths.project_root())
        else str(nb_path),
        "data": {"db": params["db"], "fingerprint": None},
        "verdict": None,
        "error": None,
        "job": job,
        "period": period,
        "files": {"notebook": "report.ipynb", "html": None},
        "html_bytes": None,
        "warnings": [],
        "standalone": bool(standalone),
    }
    _write_json_atomic(manifest_path, manifest)

    error: dict | None = open_error
    verdict: dict | None = None
    html_path: Path | None = None
    manifest["data"]["fingerprint"] = fingerprint

    out_nb = run_dir / "report.ipynb"
    if error is None:
        progress: dict[str, Any] = {}
        try:
            exc = _execute(nb_path, out_nb, params, timeout, start_timeout, retries, paths.project_root(), progress)
        except BaseException as interrupt:  # Ctrl-C or SIGTERM: the run is recorded as failed, then re-raised
            manifest.update(
                status="failed",
                finished_at=_iso(_now()),
                duration_s=round(time.perf_counter() - t0, 3),
                error={
                    "cell": None,
                    "execution_count": None,
                    "ename": type(interrupt).__name__,
                    "evalue": "the render was interrupted",
                    "message": "the render was interrupted",
                },
            )
            _write_json_atomic(manifest_path, manifest)
            raise
        manifest["kernel_attempts"] = progress.get("attempts")
        manifest["kernel"] = progress.get("kernel")
        log.debug(
            "%s: notebook executed in %.1f s (kernel attempts %s)",
            name,
            time.perf_counter() - t0,
            progress.get("attempts"),
        )
        nb = None
        try:
            nb = nbformat.read(str(out_nb), as_version=4)
        except Exception:  # noqa: BLE001 - papermill could not even write the notebook
            pass
        if exc is not None:
            error = _describe_failure(exc, nb, timeout, progress.get("cell"))
            error = _source_cell(error, nb, nb_path)
        elif nb is None:
            error = {
                "cell": None,
                "execution_count": None,
                "ename": "RuntimeError",
                "evalue": "",
                "message": "the executed notebook was not written",
            }
        else:
            error = _first_error(nb)
            if error is None:
                index, cell = _unexecuted_cell(nb)
                if index is not None:
                    error = _error_doc(index, cell, "NotExecuted", "the run stopped before this cell (sys.exit?)")
            if error is not None:
                error = _source_cell(error, nb, nb_path)
            if error is None:
                verdict, reason = extract_verdict(nb)
                if reason:
                    error = {
                        "cell": None,
                        "execution_count": None,
                        "ename": "VerdictContract",
                        "evalue": reason,
                        "message": f"VerdictContract: {reason}",
                    }
        if error is None:
            from .html import notebook_to_html, plotly_asset

            header = {
                "run": run_id,
                "rendered": started.strftime("%Y-%m-%d %H:%M UTC"),
                "data": manifest["data"]["fingerprint"]["hash"],
                "parameters": ", ".join(f"{k}={v}" for k, v in params.items() if k != "db") or "defaults",
                "warehouse": warehouse_label(params["db"]),
            }
            inline = None
            if standalone:
                from .html import plotly_source

                inline = plotly_source()
                page = notebook_to_html(
                    nb, title=name, header=header, plotly_src=None, index_href=None, plotly_inline=inline
                )
            else:
                asset = plotly_asset(root)
                page = notebook_to_html(nb, title=name, header=header, plotly_src=os.path.relpath(asset, run_dir))
            html_path = run_dir / "report.html"
            _write_text_atomic(html_path, page)
            manifest["files"]["html"] = "report.html"
            manifest["html_bytes"] = html_path.stat().st_size
            own_bytes = manifest["html_bytes"] - (len(inline.encode("utf-8")) if inline else 0)
            if own_bytes > PAGE_BUDGET_BYTES:
                manifest["warnings"].append(
                    f"report.html is {manifest['html_bytes']:,} bytes, above the "
                    f"{PAGE_BUDGET_BYTES:,}-byte budget (show fewer rows or points)"
                )

    finished = _now()
    status = "ok" if error is None else "failed"
    manifest.update(
        status=status,
        finished_at=_iso(finished),
        duration_s=round(time.perf_counter() - t0, 3),
        verdict=verdict,
        error=error,
    )
    _write_json_atomic(manifest_path, manifest)
    if status == "ok":
        log.info("%s: ok in %.1f s -> %s", name, manifest["duration_s"], html_path)
    else:
        log.info("%s: failed in %.1f s: %s", name, manifest["duration_s"], error.get("message"))
    for warning in manifest["warnings"]:
        log.info("%s: %s", name, warning)
    if status == "ok":
        _update_latest(report_dir, run_id, manifest["started_at"])
    elif error.get("ename") == "WarehouseBusy" or WarehouseBusy.from_error(error.get("evalue") or ""):
        busy = WarehouseBusy(params["db"])  # a cell met the lock after the wait: recorded, and the caller retries
        busy.args = (f"{error.get('evalue') or busy} (run {run_id} recorded as failed)",)
        raise busy
    return RunResult(
        report=name,
        run_id=run_id,
        status=status,
        html=str(html_path) if html_path else None,
        manifest=str(manifest_path),
        duration_s=manifest["duration_s"],
        error=error,
        verdict=verdict,
    )


def _source_cell(error: dict, executed, nb_path: Path) -> dict:
    """Renumber ``error["cell"]`` from the executed notebook to the author's notebook (0-based).

    papermill inserts an ``injected-parameters`` cell (and an error banner), so
    the executed notebook's indexes are off by one or two from what the
    author sees.
    """
    index = error.get("cell")
    if index is None or executed is None or index >= len(executed.cells):
        return error
    try:
        source = nbformat.read(str(nb_path), as_version=4)
    except Exception:  # noqa: BLE001
        return error
    cell_id = executed.cells[index].get("id")
    ids = [c.get("id") for c in source.cells]
    if cell_id and cell_id in ids:
        return {**error, "cell": ids.index(cell_id)}
    shift = sum(
        1
        for c in executed.cells[:index]
        if {"injected-parameters", "papermill-error-cell-tag"} & set(c.metadata.get("tags") or [])
    )
    return {**error, "cell": index - shift}


def _describe_failure(exc: Exception, nb, timeout: float, current: int | None) -> dict:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        cell = nb.cells[exc.cell_index] if nb is not None and exc.cell_index < len(nb.cells) else None
        return _error_doc(exc.cell_index, cell, exc.ename, str(exc.evalue))
    index = current
    cell = nb.cells[index] if nb is not None and index is not None and index < len(nb.cells) else None
    if index is None:
        return _error_doc(None, None, type(exc).__name__, f"the kernel did not start: {exc}")
    kind = type(exc).__name__
    if "Timeout" in kind:
        return _error_doc(
            index, cell, "CellTimeoutError", f"the cell ran longer than {timeout:g} s; the kernel was stopped"
        )
    if "DeadKernel" in kind:
        return _error_doc(index, cell, "DeadKernelError", "the kernel died while running this cell")
    return _error_doc(index, cell, kind, str(exc))


def render_many(names: list[str], **kwargs) -> list[RunResult]:
    """Render several reports one after another, their kernels forked from one warm zygote (:mod:`.warm`)."""
    from .warm import warm_kernels

    with warm_kernels() if len(names) > 1 else contextlib.nullcontext():
        return [run_report(n, **kwargs) for n in names]


def load_manifest(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


__all__ = [
    "ReportUsageError",
    "RunResult",
    "run_report",
    "prepare_run",
    "list_reports",
    "resolve_report",
    "notebooks_root",
    "reports_root",
    "new_run_id",
    "read_latest",
    "extract_verdict",
    "load_manifest",
    "file_lock",
    "DEFAULT_TIMEOUT",
]
