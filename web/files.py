"""The read-only file server `sendflow serve` runs on 127.0.0.1: the home's published folders over HTTP.

Run records in the Prefect UI link Data Docs pages, gold Parquet and trust reports here, since a browser will
not open file:// links from a web page. It serves only the folders of `core.links.PUBLISHED_FOLDERS` (never
bronze, silver, landing, the pupil key, the warehouse, Prefect's home or logs), answers GET and HEAD only, and
refuses any name that could reach outside its folder: `..`, encoded slashes, backslashes, control characters,
hidden names, and links whose real place lies elsewhere. A refusal is a 404, the same as a file not there, so
the server tells nothing about what lies outside.
"""

from __future__ import annotations

import html
import logging
import os
import shutil
import socketserver
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast
from urllib.parse import quote, unquote

from sendflow.core.links import PUBLISHED_FOLDERS, is_hidden, published_root, real_place
from sendflow.core.settings import Settings

HOST = "127.0.0.1"
INDEX_PAGE = "index.html"
READ_TIMEOUT_SECONDS = 30.0  # a client that sends nothing gives up its thread after this long
CHUNK_BYTES = 1 << 16
SHUTDOWN_POLL_SECONDS = 0.1  # how soon close() is noticed
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".parquet": "application/vnd.apache.parquet",
    ".csv": "text/csv; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
OTHER_CONTENT = "application/octet-stream"
ALLOWED_METHODS = "GET, HEAD"

log = logging.getLogger(__name__)


def content_type(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower(), OTHER_CONTENT)


def request_names(target: str) -> list[str] | None:
    """The decoded names of a request's path (`/reports/a%20b/` -> ["reports", "a b"]), or None when any name
    could step outside its folder or is hidden. Each name is decoded once, after splitting on the raw slashes,
    so an encoded slash or dot is refused as part of the name it decodes into."""
    if not target.startswith("/"):  # "http://host/..." (absolute form) or "*"
        return None
    path = target.split("?", 1)[0].split("#", 1)[0]
    raw = path[1:].split("/")
    if raw[-1] == "":  # a trailing slash asks for a folder
        raw.pop()
    names = []
    for part in raw:
        try:
            name = unquote(part, errors="strict")
        except UnicodeDecodeError:
            return None
        unsafe = any(c in "/\\" or ord(c) < 0x20 or c == "\x7f" for c in name)
        if not name or unsafe or is_hidden(name):  # an empty name (`//`) would start an absolute path
            return None
        names.append(name)
    return names


def _published(names: list[str]) -> tuple[str, list[str]] | None:
    """The published folder the names start with, and the names below it."""
    for folder in PUBLISHED_FOLDERS:
        parts = folder.split("/")
        if names[: len(parts)] == parts:
            return folder, names[len(parts) :]
    return None


def _listing(title: str, entries: list[tuple[str, str]]) -> bytes:
    """A plain page of links (href, shown name), every name escaped."""
    items = "\n".join(f'<li><a href="{html.escape(href)}">{html.escape(shown)}</a></li>' for href, shown in entries)
    page = (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>\n'
        f'<body><h1>{html.escape(title)}</h1>\n<p><a href="/">published folders</a></p>\n<ul>\n{items}\n</ul>'
        "</body></html>\n"
    )
    return page.encode("utf-8")


class _PublishedFiles(ThreadingHTTPServer):
    daemon_threads = True  # a slow client never holds up the service's exit

    def __init__(self, home: Path, port: int) -> None:
        self.home = home
        super().__init__((HOST, port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks DNS for the host's full name, which can stall startup; the name is known.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = HOST, int(self.server_address[1])

    def handle_error(self, request: object, client_address: object) -> None:
        # A browser closing a page mid-download is ordinary; the default prints a traceback to stderr.
        log.debug("file server: request from %s ended early", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server_version = "sendflow-files"
    timeout = READ_TIMEOUT_SECONDS

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def __getattr__(self, name: str) -> Callable[[], None]:
        # The base class looks up do_<METHOD> and answers 501 when absent: every method but GET and HEAD is a 405.
        if name.startswith("do_"):
            return self._refuse_method
        raise AttributeError(name)

    def _refuse_method(self) -> None:
        self._plain_error(HTTPStatus.METHOD_NOT_ALLOWED, {"Allow": ALLOWED_METHODS})

    @property
    def _home(self) -> Path:
        return cast(_PublishedFiles, self.server).home

    def _host_is_ours(self) -> bool:
        """A page elsewhere that rebinds its own name to 127.0.0.1 still sends that name as Host: refused."""
        host = self.headers.get("Host")
        if host is None:  # HTTP/1.0 clients may leave it out; browsers never do
            return True
        port = cast(_PublishedFiles, self.server).server_port
        return host.lower() in {f"{HOST}:{port}", f"localhost:{port}"}

    def _answer(self, with_body: bool) -> None:
        if not self._host_is_ours():
            self._plain_error(HTTPStatus.FORBIDDEN)
            return
        names = request_names(self.path)
        if names == []:
            entries = [(folder + "/", folder + "/") for folder in PUBLISHED_FOLDERS]
            self._send_bytes(_listing("sendflow: published folders", entries), "text/html; charset=utf-8", with_body)
            return
        found = None if names is None else _published(names)
        if names is None or found is None:
            self._plain_error(HTTPStatus.NOT_FOUND)
            return
        folder, below = found
        root = published_root(self._home, folder)
        real = real_place(root, root.joinpath(*below))
        if real is None:
            self._plain_error(HTTPStatus.NOT_FOUND)
        elif not real.is_dir():
            self._send_file(real, with_body)
        elif not self.path.split("?", 1)[0].endswith("/"):  # relative links in an index page need the slash
            self._redirect("/" + "/".join(quote(name, safe="") for name in names) + "/")
        elif (index := real_place(root, real / INDEX_PAGE)) is not None and index.is_file():
            self._send_file(index, with_body)
        else:
            self._send_listing(root, real, "/".join(names), with_body)

    def _send_listing(self, root: Path, directory: Path, shown: str, with_body: bool) -> None:
        try:
            found = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:  # not ours to read (or gone since): the same answer as absent
            self._plain_error(HTTPStatus.NOT_FOUND)
            return
        entries = []
        for entry in found:
            place = real_place(root, Path(entry.path))
            if place is None:  # hidden, or a link leading out of the folder: not shown either
                continue
            suffix = "/" if place.is_dir() else ""
            entries.append((quote(entry.name, safe="") + suffix, entry.name + suffix))
        self._send_bytes(_listing(f"sendflow: {shown}/", entries), "text/html; charset=utf-8", with_body)

    def _send_file(self, real: Path, with_body: bool) -> None:
        # Open the place already checked, not following a link put there since, nor waiting on a FIFO.
        try:
            descriptor = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            self._plain_error(HTTPStatus.NOT_FOUND)
            return
        with os.fdopen(descriptor, "rb") as file:
            status = os.fstat(file.fileno())
            if not stat.S_ISREG(status.st_mode):
                self._plain_error(HTTPStatus.NOT_FOUND)
                return
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type(real))
            self.send_header("Content-Length", str(status.st_size))
            self.send_header("Last-Modified", self.date_time_string(int(status.st_mtime)))
            self.send_header("Cache-Control", "no-cache")  # reports and gold are rewritten in place after loads
            self.end_headers()
            if with_body:
                shutil.copyfileobj(file, self.wfile, CHUNK_BYTES)

    def _send_bytes(self, body: bytes, kind: str, with_body: bool) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Security-Policy", "default-src 'none'")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.MOVED_PERMANENTLY)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def _plain_error(self, status: HTTPStatus, headers: dict[str, str] | None = None) -> None:
        body = f"{status.value} {status.phrase}\n".encode()
        self.send_response(status)  # the standard phrase: never words taken from the request
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's own refusals (a malformed request line, an over-long header) in the same plain form."""
        self.close_connection = True
        self._plain_error(HTTPStatus(code))

    def version_string(self) -> str:
        return self.server_version  # not Python's version: nothing for a prober to match against

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        log.debug("file server: %s %s", self.address_string(), format % args)


@dataclass
class FileServer:
    """The running file server: `url` to link, `close()` to stop it."""

    _server: _PublishedFiles
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_port}/"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_file_server(settings: Settings, port: int = 0) -> FileServer:
    """Serve the home's published folders on 127.0.0.1 (port 0: any free one) in a daemon thread."""
    server = _PublishedFiles(settings.home, port)
    thread = threading.Thread(
        target=server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), name="sendflow-file-server", daemon=True
    )
    thread.start()
    return FileServer(server, thread)
