"""The server behind ``trainerlab explore``: one marimo app on 127.0.0.1, for this user only.

marimo's ASGI app (:func:`marimo.create_asgi_app`, run mode, code not sent to the
browser) is served by uvicorn on the loopback interface, behind a guard that refuses:

* a request or WebSocket whose ``Host`` is not the app's own loopback address
  (``127.0.0.1:PORT`` or ``localhost:PORT``): a DNS-rebinding page cannot reach it;
* a request or WebSocket with an ``Origin`` other than ``http://127.0.0.1:PORT`` or
  ``http://localhost:PORT``: a page on any other site cannot open ``ws://127.0.0.1:PORT/ws``
  and read the app's data, nor post to its API;
* any request without the per-launch token (marimo's token authentication: the
  ``access_token`` in the printed URL, exchanged for a session cookie on first load).

Refusals are plain ``403`` (HTTP) or a closed handshake (WebSocket, code 1008).

Run as ``python -m trainerlab.appserver APP.py --port N``; the token comes from
``$TRAINERLAB_APP_TOKEN`` (not the command line, which other local users can read).
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any

TOKEN_ENV = "TRAINERLAB_APP_TOKEN"
HOST = "127.0.0.1"

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


def allowed_hosts(port: int) -> frozenset[str]:
    return frozenset({f"127.0.0.1:{port}", f"localhost:{port}"})


def allowed_origins(port: int) -> frozenset[str]:
    return frozenset({f"http://127.0.0.1:{port}", f"http://localhost:{port}"})


class LoopbackGuard:
    """ASGI middleware: only the app's own loopback origin may talk to it (see the module docstring)."""

    def __init__(self, app, port: int):
        self.app = app
        self.hosts = allowed_hosts(port)
        self.origins = allowed_origins(port)

    def refusal(self, scope: Scope) -> str | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        host = headers.get("host", "").lower()
        if host not in self.hosts:
            return f"host {host!r} is not this app's loopback address"
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in self.origins:
            return f"origin {origin!r} is not this app's own"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        reason = self.refusal(scope)
        if reason is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await receive()  # the websocket.connect message
            await send({"type": "websocket.close", "code": 1008, "reason": "forbidden"})
            return
        body = f"forbidden: {reason}\n".encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def build_app(app_file: str, port: int, token: str) -> Any:
    import marimo

    if not token:
        raise ValueError("an app is never served without a token")
    inner = marimo.create_asgi_app(quiet=True, include_code=False, token=token).with_app(path="", root=app_file).build()
    return LoopbackGuard(inner, port)


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:port; ``OSError`` (EADDRINUSE) when the port is taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def port_in_use_message(port: int) -> str:
    return f"port {port} on {HOST} is in use (another app or server is listening there); stop it or pass another --port"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainerlab.appserver")
    parser.add_argument("app_file")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    token = os.environ.pop(TOKEN_ENV, "")
    if not token:
        print(f"trainerlab explore: ${TOKEN_ENV} is not set; refusing to serve without a token", file=sys.stderr)
        return 2
    try:
        sock = bind(args.port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"trainerlab explore: {port_in_use_message(args.port)}", file=sys.stderr)
            return 2
        raise
    import uvicorn

    app = build_app(args.app_file, args.port, token)
    config = uvicorn.Config(
        app,
        host=HOST,
        port=args.port,
        log_level="warning",
        access_log=False,
        ws="websockets",
        lifespan="on",
        proxy_headers=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
