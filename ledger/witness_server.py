"""The witness over HTTP: C2SP tlog-witness on Starlette, served by uvicorn.

``POST /add-checkpoint`` (the submission prefix is the server root) and ``GET /<origin hash>/checkpoint``
(the monitoring prefix, the same root). The protocol work is :class:`~witness.Witness`; requests run in
a worker thread because it fsyncs, and it serialises the check-and-persist step itself.
"""

from __future__ import annotations

import socket

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .witness import MAX_BODY, Witness

__all__ = ["make_app", "bind", "serve"]


def make_app(witness: Witness) -> Starlette:
    """The ASGI application for ``witness``."""

    async def add_checkpoint(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return PlainTextResponse("request body too large\n", status_code=400)
        answer = await run_in_threadpool(witness.add_checkpoint, body)
        # Set the header verbatim: Starlette would append "; charset=utf-8" to a text/* media type, and
        # the spec fixes the 409 body's Content-Type as exactly text/x.tlog.size.
        return Response(answer.body.encode("utf-8"), status_code=answer.status,
                        headers={"Content-Type": answer.content_type})

    async def checkpoint(request: Request) -> Response:
        note = await run_in_threadpool(witness.latest_by_hash, request.path_params["origin_hash"])
        if note is None:
            return PlainTextResponse("no checkpoint cosigned for that log\n", status_code=404)
        return Response(note, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-cache"})

    return Starlette(routes=[
        Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
        Route("/{origin_hash}/checkpoint", checkpoint, methods=["GET"]),
    ])


def bind(listen: str) -> socket.socket:
    """A listening TCP socket for ``HOST:PORT`` (port 0 picks a free one)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--listen must be HOST:PORT, got {listen!r}")
    host = host.strip("[]") or "127.0.0.1"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named explicitly: asyncio turns Nagle's algorithm off only on sockets whose proto says
    # TCP, and with it on, an answer written as headers then body waits ~40 ms for the client's delayed
    # ACK. (TCP_NODELAY on the listener too: Linux hands it on to the accepted connections.)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, int(port)))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def server(witness: Witness, sock: socket.socket):
    """A uvicorn server for ``witness`` on the bound ``sock`` (call ``.run(sockets=[sock])``)."""
    import uvicorn

    config = uvicorn.Config(make_app(witness), log_level="warning", access_log=False, lifespan="off")
    return uvicorn.Server(config)


def serve(witness: Witness, sock: socket.socket) -> None:
    """Serve until interrupted."""
    server(witness, sock).run(sockets=[sock])
