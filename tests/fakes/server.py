"""A bounded HTTP server on 127.0.0.1 for the fakes to build on."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

MAX_REQUESTS = 20_000
MAX_SECONDS = 600.0


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    chunks: list[bytes] | None = None  # streamed with chunked encoding
    drop: bool = False  # close the connection without answering (a lost response)


Handler = Callable[[Request], Response]


class StartsAndStops:
    """A fake that a ``with`` block starts and stops."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LoopbackServer(StartsAndStops):
    """Serve ``handler`` on 127.0.0.1 with a request budget and a deadline; records requests."""

    def __init__(
        self,
        handler: Handler,
        *,
        max_requests: int = MAX_REQUESTS,
        max_seconds: float = MAX_SECONDS,
    ) -> None:
        self.handler = handler
        self.max_requests = max_requests
        self.deadline = time.monotonic() + max_seconds
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        outer = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with outer._lock:
                    outer.requests.append(req)
                    over = len(outer.requests) > outer.max_requests
                if over or time.monotonic() > outer.deadline:
                    resp = Response(503, {"error": "fake server budget exhausted"})
                    threading.Thread(target=outer.stop, daemon=True).start()
                else:
                    try:
                        resp = outer.handler(req)
                    except Exception as exc:  # a bug in a fake must show up, not hang
                        resp = Response(500, {"error": f"fake crashed: {exc!r}"})
                if resp.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(resp.status)
                for key, value in resp.headers.items():
                    self.send_header(key, value)
                if resp.chunks is not None:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for chunk in resp.chunks:
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                    return
                payload = resp.raw
                if payload is None:
                    payload = b"" if resp.body is None else json.dumps(resp.body).encode()
                    if resp.body is not None and "Content-Type" not in resp.headers:
                        self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._stopped = False

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self.httpd.shutdown()
            self.httpd.server_close()
