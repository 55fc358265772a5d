"""A real HTTP server on 127.0.0.1 for the pullers' tests: serves files with ETags and Last-Modified,
answers conditional requests, and fails on demand (500s, a stall past the client's timeout, a body cut
off mid-way). Nothing in the tests reaches the internet."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Source:
    files: dict[str, bytes] = field(default_factory=dict)  # path (with query) -> body
    json_documents: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # consumed one per request: "500", "stall", "truncate", "503"
    stall_seconds: float = 3.0
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    modified: float = field(default_factory=lambda: time.time() - 3600)
    base_url: str = ""

    def put(self, path: str, body: bytes) -> None:
        self.files[path] = body
        self.modified = time.time()

    def etag(self, path: str) -> str:
        return '"' + hashlib.sha256(self.files[path]).hexdigest()[:16] + '"'


def _handler(source: Source) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            source.requests.append((self.path, dict(self.headers.items())))
            failure = source.failures.pop(0) if source.failures else None
            if failure in ("500", "503"):
                return self._send(int(failure), b"server error\n", {"Retry-After": "0"} if failure == "503" else {})
            if failure == "stall":
                time.sleep(source.stall_seconds)
            if self.path in source.json_documents:
                return self._send(200, json.dumps(source.json_documents[self.path]).encode(), {})
            if self.path not in source.files:
                return self._send(404, b"not found\n", {})
            body, etag = source.files[self.path], source.etag(self.path)
            if self.headers.get("If-None-Match") == etag:
                return self._send(304, b"", {"ETag": etag})
            headers = {"ETag": etag, "Last-Modified": formatdate(source.modified, usegmt=True)}
            if failure == "truncate":
                self.send_response(200)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return None
            return self._send(200, body, headers)

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a stall test)
                    self.close_connection = True

    return Handler


@contextmanager
def http_source() -> Iterator[Source]:
    source = Source()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(source))
    server.daemon_threads = True
    source.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield source
    finally:
        server.shutdown()
        server.server_close()
