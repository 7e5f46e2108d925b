"""Warm report kernels: a fork server that has the heavy imports done once, and forks a kernel per render.

A report kernel started the plain way (``python -m ipykernel_launcher``) pays the
interpreter's start-up and the imports of ipykernel, numpy, pandas, scipy.stats,
plotly, statsmodels and duckdb before its first cell: about 1.5 CPU-seconds, more
than most reports' own cells. When several reports are rendered in one go
(:func:`trainerlab.reports.runner.render_many`, ``trainerlab report --all``, the
test suite), a *zygote* process pays that once:

* it starts with the kernels' fixed environment (``KERNEL_ENV``: ``PYTHONHASHSEED=0``
  from the interpreter's start), imports the modules in :data:`PRELOAD` (never
  trainerlab's own modules, which read settings from the environment; no ZeroMQ
  context or socket is made) and listens on a Unix socket in a private folder;
* a kernel manager launches a tiny *launcher* instead of the kernel
  (``python -I -S warm.py launch SOCKET -- <plain kernel argv>``); the launcher hands
  the zygote its request (kernel arguments, working folder, environment) and its
  standard input, output and error, and the zygote forks a child that becomes an
  ordinary ``IPKernelApp`` with that connection file, folder and environment, in a
  session of its own, with a fresh random state and BLAS threads as a new process
  would have them;
* the launcher stays the process the manager knows: it relays signals to the
  child's process group (SIGINT interrupts the cell, SIGTERM ends it), exits with
  the child's status, and when the launcher dies (SIGKILL at a timeout, or the
  manager gone) the zygote kills the child (the child also watches, should the
  zygote be gone);
* whatever goes wrong before the child exists (no zygote, a dead one, an
  environment that differs in a variable read at import, another thread in the
  zygote at fork time), the launcher runs the plain kernel itself (``exec``), so a
  render never depends on the zygote.

``TRAINERLAB_WARM_KERNEL=0`` turns it off (every kernel is a plain one). This file
is also the zygote's and the launcher's program, so its top level imports only the
standard library.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import sys
from collections.abc import Iterator

# Imported by the zygote before it forks: third-party modules that report kernels use and
# that read no project setting at import. Not numba or scikit-learn (they read NUMBA_*/SKLEARN_*
# variables at import) and no trainerlab module.
PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "numpy",
    "scipy.special",
    "scipy.stats",
    "scipy.optimize",
    "pandas",
    "pyarrow",
    "duckdb",
    "plotly.graph_objects",
    "plotly.express",
    "plotly.io",
    "plotly.io._html",
    "plotly.io._json",
    "plotly.offline",
    "plotly.tools",
    "statsmodels.api",
    "statsmodels.stats.proportion",
    "threadpoolctl",
    "tomllib",
    # plotly imports it when a kernel first touches plotly.io.renderers (rk.setup): its JSON-schema
    # validator builds a grammar at import, about 1.2 CPU-seconds per kernel. (Not plotly.io._renderers
    # itself: it picks its default renderer at import from the running IPython shell.)
    "nbformat",
)
# The zygote's own settings so that importing the above starts no thread (fork copies only the
# calling thread): one OpenBLAS thread (each child then gets the count a new process would), and
# no jemalloc background thread in pyarrow's allocator.
ZYGOTE_ENV = {"OPENBLAS_NUM_THREADS": "1", "JE_ARROW_MALLOC_CONF": "background_thread:false"}
BLAS_VARS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")
# Variables a module may read at import: a request whose value differs from the zygote's gets a
# plain kernel. (BLAS_VARS are applied in the child; ZYGOTE_ENV keys are the zygote's own.)
IMPORT_TIME_PREFIXES = (
    "PYTHON",
    "LD_",
    "ARROW_",
    "JE_",
    "NUMPY_",
    "SCIPY_",
    "PLOTLY",
    "PANDAS",
    "MPL",
    "TZ",
    "COVERAGE_",
    "LANG",  # and LC_*: the interpreter's locale and encodings are set at its start
    "LC_",
    "MKL_",
)
OFF_VALUES = ("0", "off", "false", "no")
ENV_SWITCH = "TRAINERLAB_WARM_KERNEL"
ENV_SOCKET = "TRAINERLAB_KERNEL_ZYGOTE"  # a zygote's socket, for renders in child processes (the test suite)
READY_TIMEOUT_S = 120.0
_HEADER = struct.Struct("!I")
_PRELOAD_FILTERS: list = []  # in the zygote: warning filters added by importing PRELOAD


# =========================================================================== manager side
def enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in OFF_VALUES


class Zygote:
    """One zygote process (see the module docstring); started with :meth:`start`, ended with :meth:`stop`."""

    def __init__(self, folder: str | None = None) -> None:
        import tempfile

        self._own_folder = folder is None
        self.folder = folder or tempfile.mkdtemp(prefix="tlz-")
        os.chmod(self.folder, 0o700)
        self.socket_path = os.path.join(self.folder, "zygote.sock")
        self.proc = None
        self.ready = False

    def start(self, env: dict[str, str]) -> None:
        import subprocess

        zenv = {k: v for k, v in env.items() if not k.startswith("JPY_")}
        zenv.update(ZYGOTE_ENV)
        self.proc = subprocess.Popen(
            [sys.executable, "-P", os.path.abspath(__file__), "serve", self.socket_path],
            env=zenv,
            stdin=subprocess.PIPE,  # the zygote ends when this pipe closes (this process gone)
            stdout=subprocess.PIPE,  # one line: "ready"
            start_new_session=True,  # a Ctrl-C at the terminal is not for it
            cwd=self.folder,
        )

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> bool:
        import selectors

        if self.ready or self.proc is None:
            return self.ready
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if sel.select(timeout):
                self.ready = self.proc.stdout.readline().strip() == b"ready"
        return self.ready

    def alive(self) -> bool:
        return self.ready and self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        import shutil
        import subprocess

        if self.proc is not None:
            for pipe in (self.proc.stdin, self.proc.stdout):
                with contextlib.suppress(OSError):
                    pipe.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(self.socket_path)


_state: dict = {"depth": 0, "zygote": None, "failed": False}


def _lock():
    import threading

    lock = _state.get("lock")
    if lock is None:
        lock = _state.setdefault("lock", threading.Lock())
    return lock


@contextlib.contextmanager
def warm_kernels(folder: str | None = None, export: bool = False) -> Iterator[None]:
    """Kernels started in this block come from one zygote, started at the first kernel and stopped at the end.

    Nested blocks share the outer block's zygote. ``folder`` puts its socket there; ``export``
    also names the socket in ``$TRAINERLAB_KERNEL_ZYGOTE`` so that renders in child processes
    (the CLI started by a test) use it once it is running. Nothing happens with
    ``TRAINERLAB_WARM_KERNEL=0``.
    """
    if not enabled():
        yield
        return
    with _lock():
        _state["depth"] += 1
        inherited = os.environ.get(ENV_SOCKET)
        if _state["depth"] == 1 and not (inherited and os.path.exists(inherited)):  # else: a parent's, running
            _state["zygote"] = Zygote(folder)
            _state["failed"] = False
            if export:
                os.environ[ENV_SOCKET] = _state["zygote"].socket_path
    try:
        yield
    finally:
        with _lock():
            _state["depth"] -= 1
            zygote = _state["zygote"] if _state["depth"] == 0 else None
            if zygote is not None:
                _state["zygote"] = None
                if os.environ.get(ENV_SOCKET) == zygote.socket_path:
                    del os.environ[ENV_SOCKET]
        if zygote is not None:
            zygote.stop()


def current() -> Zygote | None:
    """The zygote of the innermost :func:`warm_kernels` block (None outside one)."""
    return _state["zygote"]


def kernel_argv(plain: list[str], env: dict[str, str]) -> list[str]:
    """The command that starts one kernel: through a zygote when one is (or can be) running, else ``plain``.

    Inside :func:`warm_kernels` the first call starts the zygote with ``env`` (the kernel's
    environment) and waits until it is ready; a zygote that fails to start is not tried again
    in that block. Outside one, ``$TRAINERLAB_KERNEL_ZYGOTE`` names another process's zygote.
    """
    if not enabled():
        return plain
    socket_path = None
    zygote = _state["zygote"]
    if zygote is not None:
        with _lock():
            if zygote.proc is None and not _state["failed"]:
                zygote.start(env)
                if not zygote.wait_ready():
                    _state["failed"] = True
                    zygote.stop()
        if zygote.alive():
            socket_path = zygote.socket_path
    elif os.environ.get(ENV_SOCKET):
        socket_path = os.environ[ENV_SOCKET]
    if socket_path is None or not os.path.exists(socket_path):
        return plain
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), "launch", socket_path, "--", *plain]


# =========================================================================== wire format
def _send_doc(sock: socket.socket, doc: dict, fds: list[int] | None = None) -> None:
    body = json.dumps(doc).encode("utf-8")
    data = _HEADER.pack(len(body)) + body
    if fds:
        sent = socket.send_fds(sock, [data], fds)
        data = data[sent:]
    sock.sendall(data)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            raise EOFError("the peer closed the socket")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _recv_request(sock: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _flags, _addr = socket.recv_fds(sock, _HEADER.size, 3)
    try:
        if not data:
            raise EOFError("no request")
        data += _recv_exact(sock, _HEADER.size - len(data))
        (size,) = _HEADER.unpack(data)
        if size > 4_000_000:
            raise ValueError("request too large")
        return json.loads(_recv_exact(sock, size)), list(fds)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


# =========================================================================== the launcher
def launch(socket_path: str, plain: list[str]) -> None:
    """The launcher's program: a kernel from the zygote, or ``plain`` exec'd when that is not possible."""
    import selectors

    request = {"argv": plain, "cwd": os.getcwd(), "env": dict(os.environ)}
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    pid, buffer = None, b""
    try:
        sock.settimeout(30)
        sock.connect(socket_path)
        _send_doc(sock, request, [0, 1, 2])
        while b"\n" not in buffer:
            chunk = sock.recv(256)
            if not chunk:
                break
            buffer += chunk
        line, _, buffer = buffer.partition(b"\n")
        words = line.split()
        if len(words) == 2 and words[0] == b"pid":
            pid = int(words[1])
    except (OSError, ValueError, EOFError):
        pid = None
    if pid is None:
        sock.close()
        os.execv(plain[0], plain)  # the plain kernel, in this very process

    def relay(signum, _frame):
        with contextlib.suppress(OSError):
            os.killpg(pid, signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(signum, relay)
    parent = int(os.environ.get("JPY_PARENT_PID") or 0)
    watch_parent = parent > 1 and os.getppid() == parent  # the manager: a kernel ends when it does
    sock.settimeout(None)
    with selectors.DefaultSelector() as sel:
        sel.register(sock, selectors.EVENT_READ)
        while b"\n" not in buffer:
            if watch_parent and os.getppid() != parent:
                os._exit(1)  # our socket closes: the zygote (or the child itself) kills the kernel
            if sel.select(1.0):
                chunk = sock.recv(256)
                if not chunk:
                    os._exit(1)  # the zygote died and the child has ended: its status is unknown
                buffer += chunk
    words = buffer.partition(b"\n")[0].split()
    code = int(words[1]) if len(words) == 2 and words[0] == b"exit" else 1
    if code < 0:  # the child was killed by a signal: the manager sees the same
        with contextlib.suppress(OSError, ValueError):
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        code = 128 - code
    os._exit(code)


# =========================================================================== the zygote
def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # no /proc (macOS): the check cannot be made
        return 1


def _env_mismatch(request_env: dict[str, str], own: dict[str, str]) -> str | None:
    for key in sorted(set(request_env) | set(own)):
        if key in ZYGOTE_ENV or key in BLAS_VARS or not key.startswith(IMPORT_TIME_PREFIXES):
            continue
        if request_env.get(key) != own.get(key):
            return f"{key} differs from the zygote's"
    return None


def serve(socket_path: str) -> None:
    """The zygote's program: import :data:`PRELOAD`, say ``ready``, fork a kernel per request."""
    import importlib
    import selectors
    import warnings

    own_env = dict(os.environ)
    from ipykernel import ipkernel, kernelapp  # noqa: F401 - what the plain launcher imports first

    initial_filters = list(warnings.filters)
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - an optional package missing: its kernels import it themselves
            continue
    # the filters the imports added (statsmodels, scipy, numpy): the child puts them back in front of the
    # kernel's own, where a plain kernel that imports these modules in its first cell has them
    _PRELOAD_FILTERS[:] = [f for f in warnings.filters if f not in initial_filters]
    import gc

    gc.collect()
    gc.freeze()  # the imported objects: never scanned by a child's collector, so their pages stay shared
    with contextlib.suppress(OSError):
        os.unlink(socket_path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    os.chmod(socket_path, 0o600)
    listener.listen(64)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdout.write("ready\n")
    sys.stdout.flush()

    children: dict[int, socket.socket] = {}  # pid -> the launcher's connection
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, "accept")
    sel.register(wake_r, selectors.EVENT_READ, "signal")
    sel.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")

    def reap() -> None:
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = children.pop(pid, None)
            if conn is not None:
                code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.waitstatus_to_exitcode(status)
                with contextlib.suppress(KeyError, ValueError, OSError):
                    sel.unregister(conn)  # unless its launcher's end closed first
                with contextlib.suppress(OSError):
                    conn.sendall(f"exit {code}\n".encode())
                conn.close()

    while True:
        for key, _ in sel.select():
            if key.data == "stdin":
                if not os.read(key.fd, 4096):
                    listener.close()
                    with contextlib.suppress(OSError):
                        os.unlink(socket_path)
                    os._exit(0)  # children run on; each ends with its launcher
            elif key.data == "signal":
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
                reap()
            elif key.data == "accept":
                conn, _ = listener.accept()
                _accept(conn, own_env, children, sel, [listener, wake_r, wake_w])
            else:  # a launcher's connection became readable: it closed, so its kernel goes too
                pid = key.data
                try:
                    gone = not key.fileobj.recv(256, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    gone = False
                except OSError:
                    gone = True
                if gone:
                    sel.unregister(key.fileobj)
                    with contextlib.suppress(OSError):
                        os.killpg(pid, signal.SIGKILL)


def _accept(conn: socket.socket, own_env: dict, children: dict, sel, close_in_child: list) -> None:
    import selectors

    fds: list[int] = []
    try:
        conn.settimeout(10)
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        if struct.unpack("3i", creds)[1] != os.getuid():
            raise PermissionError("a request from another user")
        request, fds = _recv_request(conn)
        argv = request["argv"]
        if len(fds) != 3 or argv[1:3] != ["-m", "ipykernel_launcher"]:
            raise ValueError("not a kernel request")
        reason = _env_mismatch(request["env"], own_env)
        if reason is None and _threads() != 1:
            reason = f"the zygote runs {_threads()} threads"
        if reason:
            conn.sendall(f"refuse {reason}\n".encode())
            raise ValueError(reason)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            try:
                sel.close()
                for item in [*close_in_child, *children.values()]:
                    item.close() if isinstance(item, socket.socket) else os.close(item)
                children.clear()
                _become_kernel(conn, request, fds)
            except SystemExit:
                raise  # the kernel's end: up to the interpreter, which exits as a plain kernel does
            except BaseException:  # noqa: BLE001
                import traceback

                traceback.print_exc()
                os._exit(1)
        conn.settimeout(None)
        children[pid] = conn
        conn.sendall(f"pid {pid}\n".encode())
        sel.register(conn, selectors.EVENT_READ, pid)
    except Exception:  # noqa: BLE001 - the launcher falls back to a plain kernel
        conn.close()
    finally:
        for fd in fds:
            os.close(fd)


def _become_kernel(conn: socket.socket, request: dict, fds: list[int]) -> None:
    """In the forked child: turn into ``python -m ipykernel_launcher <args>`` as the launcher would have run it."""
    import random
    import tempfile
    import threading
    import time

    os.setsid()  # own session and process group, as jupyter_client gives a plain kernel
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    fds.clear()
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    tempfile.tempdir = None
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()  # the global RandomState, seeded afresh like a new process's
    _set_blas_threads(request["env"])
    # The launcher's end closing means the kernel must go: the zygote kills the child then, and
    # this thread does when the zygote is gone.
    conn.settimeout(None)

    def watch() -> None:
        while True:
            try:
                if conn.recv(256):
                    continue
            except OSError:
                pass
            os.killpg(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="launcher-watch", daemon=True).start()
    import ipykernel_launcher

    sys.argv = [ipykernel_launcher.__file__, *request["argv"][3:]]
    import warnings

    from ipykernel import kernelapp

    # ipykernel_launcher's launch_new_instance(), i.e. IPKernelApp.launch_instance(), in its three steps.
    # ipykernel read $JPY_PARENT_PID (the manager, which the launcher watches) when the zygote imported
    # it: 1 says "started by a manager" as that value would (no banner on stdout), with no parent poller.
    app = kernelapp.IPKernelApp.instance(parent_handle=1)
    warnings.filters[:] = [f for f in warnings.filters if f not in _PRELOAD_FILTERS]
    warnings._filters_mutated()  # type: ignore[attr-defined]
    app.initialize()
    warnings.filters[:0] = _PRELOAD_FILTERS
    warnings._filters_mutated()  # type: ignore[attr-defined]
    app.start()
    raise SystemExit(0)  # ipykernel_launcher's module ends here, and so does the interpreter


def _set_blas_threads(env: dict[str, str]) -> None:
    """OpenBLAS as a new process would start it: $OPENBLAS_NUM_THREADS (...) or one thread per usable CPU."""
    count = None
    for key in BLAS_VARS:
        with contextlib.suppress(ValueError, TypeError):
            value = int(env.get(key) or 0)
            if value > 0:
                count = value
                break
    if count is None:
        count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=count, user_api="blas")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "serve":
        serve(sys.argv[2])
    elif len(sys.argv) >= 5 and sys.argv[1] == "launch" and sys.argv[3] == "--":
        launch(sys.argv[2], sys.argv[4:])
    else:
        sys.exit("usage: warm.py serve SOCKET | warm.py launch SOCKET -- PYTHON -m ipykernel_launcher ...")
