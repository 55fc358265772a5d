"""serve's file server, over real sockets: the published folders come back whole and typed; nothing else does,
however the path is spelled. Requests are written byte for byte, so no client tidies a path before it is sent."""

from __future__ import annotations

import http.client
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from sendflow.core.links import PUBLISHED_FOLDERS, FileLinks
from sendflow.core.settings import Settings
from sendflow.loading.file_load import Context, ingest_path
from sendflow.loading.run_record import outcome_markdown
from sendflow.warehouse.schema import ensure_schema
from sendflow.web.files import FileServer, start_file_server
from tests.conftest import SAMPLE_DIR

SECRET = b"the-pupil-key-never-served"
PUBLISHED = {  # path under the home -> (bytes, content type)
    "data-docs/school_census/0123456789abcdef-1.html": (b"<html>docs</html>", "text/html; charset=utf-8"),
    "lake/gold/v_trust_send_summary/data.parquet": (b"PAR1\x00\x01parquet-bytes", "application/vnd.apache.parquet"),
    "reports/trust-1/trust-1-2023-24.html": (b"<html>report</html>", "text/html; charset=utf-8"),
    "reports/trust-1/trust-1-2023-24-tables/schools.csv": (b"urn,name\n1,A\n", "text/csv; charset=utf-8"),
    "reports/trust-1/trust-1-2023-24.xlsx": (
        b"PK\x03\x04xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    "reports/trust-1/summary.json": (b'{"a": 1}', "application/json"),
    "reports/trust-1/chart.png": (b"\x89PNG\r\n\x1a\n", "image/png"),
    "reports/trust-1/chart.svg": (b"<svg/>", "image/svg+xml"),
    "reports/trust-1/notes.txt": (b"notes", "text/plain; charset=utf-8"),
    "reports/trust-1/other.bin": (b"\x00\x01\x02", "application/octet-stream"),
    "reports/trust 1 é/a b#c?.csv": (b"spaced,named\n", "text/csv; charset=utf-8"),
}  # fmt: skip
NOT_PUBLISHED = (
    "pupil.key", "warehouse.sqlite", "lake/bronze/x.csv", "lake/silver/t/data.parquet", "landing/rejected/x.csv",
    "landing/processing/y.csv", "prefect/prefect.db", "prefect-serve.log", "serve.json",
    "reports/.hidden.html", "reports/trust-1/.secret.csv", "data-docs/.cache/page.html",
)  # fmt: skip


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


@pytest.fixture(scope="module")
def served_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("served") / "home")


@pytest.fixture(scope="module")
def home(served_settings: Settings) -> Path:
    """One home for the module's server: the tests read it, and add to it only names no other test asks for."""
    home = served_settings.home
    for name, (content, _) in PUBLISHED.items():
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_bytes(content)
    for name in NOT_PUBLISHED:
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_bytes(SECRET)
    (home / "data-docs" / "site").mkdir()
    (home / "data-docs" / "site" / "index.html").write_bytes(b"<html>index</html>")
    (home / "reports" / "to-key.html").symlink_to(home / "pupil.key")
    (home / "reports" / "to-bronze").symlink_to(home / "lake" / "bronze", target_is_directory=True)
    (home / "reports" / "to-gold.parquet").symlink_to(home / "lake" / "gold" / "v_trust_send_summary" / "data.parquet")
    (home / "reports" / "trust-1" / "<b>odd & name<i>.csv").write_bytes(b"x\n")
    return home


@pytest.fixture(scope="module")
def server(served_settings: Settings, home: Path) -> Iterator[FileServer]:
    served = start_file_server(served_settings)
    yield served
    served.close()


def _port(server: FileServer) -> int:
    return int(server.url.rstrip("/").rsplit(":", 1)[1])


def request(server: FileServer, method: str, target: bytes | str, host: bytes | None = None) -> Reply:
    """One request, its line written exactly as given."""
    target_bytes = target.encode("utf-8") if isinstance(target, str) else target
    host_header = host if host is not None else f"127.0.0.1:{_port(server)}".encode()
    with socket.create_connection(("127.0.0.1", _port(server)), timeout=10) as connection:
        connection.sendall(
            method.encode() + b" " + target_bytes + b" HTTP/1.1\r\nHost: " + host_header
            + b"\r\nConnection: close\r\n\r\n"
        )  # fmt: skip
        response = http.client.HTTPResponse(connection, method=method)
        response.begin()
        return Reply(response.status, response.headers, response.read())


def _quoted(name: str) -> str:
    return "/" + "/".join(quote(part, safe="") for part in name.split("/"))


def test_the_server_listens_on_the_loopback_address_only(server: FileServer) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:[0-9]+/", server.url)
    assert _port(server) > 0


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_each_published_file_comes_back_whole_with_its_type(server: FileServer, name: str) -> None:
    content, kind = PUBLISHED[name]
    reply = request(server, "GET", _quoted(name))
    assert reply.status == 200, name
    assert reply.body == content
    assert reply.headers["Content-Type"] == kind
    assert reply.headers["Content-Length"] == str(len(content))
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


def test_head_answers_the_headers_without_the_body(server: FileServer) -> None:
    name = "lake/gold/v_trust_send_summary/data.parquet"
    reply = request(server, "HEAD", _quoted(name))
    assert reply.status == 200 and reply.body == b""
    assert reply.headers["Content-Length"] == str(len(PUBLISHED[name][0]))
    assert reply.headers["Content-Type"] == "application/vnd.apache.parquet"


@pytest.mark.parametrize("name", NOT_PUBLISHED)
def test_nothing_outside_the_published_folders_is_served(server: FileServer, name: str) -> None:
    reply = request(server, "GET", _quoted(name))
    assert reply.status == 404 and SECRET not in reply.body
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


TRAVERSALS = (
    b"/reports/../pupil.key",
    b"/../pupil.key",
    b"/data-docs/../../../../etc/passwd",
    b"/lake/gold/../bronze/x.csv",
    b"/lake/gold/../../pupil.key",
    b"/reports/%2e%2e/pupil.key",
    b"/reports/%2E%2E/pupil.key",
    b"/reports/.%2e/pupil.key",
    b"/%2e%2e/pupil.key",
    b"/reports/..%2fpupil.key",
    b"/reports%2f..%2fpupil.key",
    b"/reports/%2fetc%2fpasswd",
    b"/reports/%2F..%2F..%2Fpupil.key",
    b"/reports/%252e%252e/pupil.key",
    b"/reports/..%5cpupil.key",
    b"/reports/..\\pupil.key",
    b"/reports\\..\\pupil.key",
    b"/reports/%00/../pupil.key",
    b"/reports/trust-1/notes.txt%00.html",
    b"/reports/trust-1/notes.txt\x00",
    b"/reports/%c0%ae%c0%ae/pupil.key",
    b"//pupil.key",
    b"//etc/passwd",
    b"/reports//etc/passwd",
    b"/reports/./trust-1/notes.txt",
    b"pupil.key",
    b"http://127.0.0.1/pupil.key",
    b"/reports/to-key.html",
    b"/reports/to-bronze/x.csv",
    b"/reports/to-bronze/",
    b"/lake/",
    b"/lake",
    b"/landing/",
    b"/lake/bronze/",
    b"/prefect/",
)


@pytest.mark.parametrize("target", TRAVERSALS, ids=[t.decode("latin-1") for t in TRAVERSALS])
def test_every_way_of_stepping_outside_a_published_folder_is_refused(server: FileServer, target: bytes) -> None:
    for method in ("GET", "HEAD"):
        reply = request(server, method, target)
        assert reply.status in (400, 403, 404), (method, target, reply.status)
        assert SECRET not in reply.body


def test_a_link_is_followed_only_while_it_stays_inside_its_own_folder(server: FileServer, home: Path) -> None:
    """Where a link really leads decides: reports/to-gold.parquet leads into gold, out of reports/, so it is
    refused like any other way out; a link from one report file to another is followed."""
    assert request(server, "GET", "/reports/to-gold.parquet").status == 404
    (home / "reports" / "trust-1" / "again.txt").symlink_to("notes.txt")
    reply = request(server, "GET", "/reports/trust-1/again.txt")
    assert reply.status == 200 and reply.body == b"notes"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "FOO"])
def test_only_get_and_head_are_answered(server: FileServer, home: Path, method: str) -> None:
    reply = request(server, method, "/reports/trust-1/notes.txt")
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET, HEAD"
    assert (home / "reports" / "trust-1" / "notes.txt").read_bytes() == b"notes"


def test_the_top_lists_the_three_published_folders_and_nothing_else(server: FileServer) -> None:
    reply = request(server, "GET", "/")
    assert reply.status == 200 and reply.headers["Content-Type"] == "text/html; charset=utf-8"
    links = re.findall(r'href="([^"]+)"', reply.body.decode())
    assert links == ["/", *(folder + "/" for folder in PUBLISHED_FOLDERS)]
    for link in links[1:]:
        assert request(server, "GET", "/" + link).status == 200  # each folder lists (all three exist here)


def test_a_published_folder_lists_its_files_escaped_without_hidden_names_or_links_out(server: FileServer) -> None:
    reply = request(server, "GET", "/reports/trust-1/")
    page = reply.body.decode()
    assert reply.status == 200 and "text/html" in reply.headers["Content-Type"]
    assert "notes.txt" in page and "trust-1-2023-24-tables/" in page
    assert "<b>" not in page and "&lt;b&gt;odd &amp; name&lt;i&gt;.csv" in page
    assert ".secret" not in page
    top = request(server, "GET", "/reports/").body.decode()
    assert "trust-1/" in top and "to-key" not in top and "to-bronze" not in top and ".hidden" not in top
    for href in re.findall(r'href="([^"]+)"', page)[1:]:
        assert request(server, "GET", "/reports/trust-1/" + href.replace("&amp;", "&")).status == 200, href


def test_a_folder_with_an_index_page_serves_it_and_a_folder_asked_without_its_slash_is_redirected(
    server: FileServer,
) -> None:
    reply = request(server, "GET", "/data-docs/site/")
    assert reply.status == 200 and reply.body == b"<html>index</html>"
    moved = request(server, "GET", "/data-docs/site")
    assert moved.status == 301 and moved.headers["Location"] == "/data-docs/site/"


def test_a_request_naming_another_host_is_refused(server: FileServer) -> None:
    """A page that rebinds its own domain to 127.0.0.1 still sends that domain as the Host."""
    reply = request(server, "GET", "/reports/trust-1/notes.txt", host=b"evil.example:80")
    assert reply.status == 403 and b"notes" not in reply.body
    local = f"localhost:{_port(server)}".encode()
    assert request(server, "GET", "/reports/trust-1/notes.txt", host=local).status == 200


def test_a_malformed_request_is_refused_plainly(server: FileServer) -> None:
    with socket.create_connection(("127.0.0.1", _port(server)), timeout=10) as connection:
        connection.sendall(b"GET /reports/ HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n")
        answer = connection.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.0 431 ") and b"\r\nX-Content-Type-Options: nosniff\r\n" in answer
    assert b"\r\nServer: sendflow-files\r\n" in answer and b"Python" not in answer


def test_a_closed_server_answers_no_more(settings: Settings) -> None:
    served = start_file_server(settings)
    port = _port(served)
    assert request(served, "GET", "/").status == 200
    served.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_links_are_the_server_s_urls_only_for_published_files(home: Path) -> None:
    links = FileLinks(home, "http://127.0.0.1:1/")
    assert links.url(home / "reports" / "trust 1 é" / "a b#c?.csv") == (
        "http://127.0.0.1:1/reports/trust%201%20%C3%A9/a%20b%23c%3F.csv"
    )
    for name in (*NOT_PUBLISHED, "reports/to-key.html", "reports/to-bronze/x.csv"):
        assert links.url(home / name) is None, name
        assert links.markdown(home / name) == f"`{home / name}`"
    without = FileLinks(home)
    assert without.markdown(home / "reports" / "trust-1" / "notes.txt") == f"`{home / 'reports/trust-1/notes.txt'}`"


def test_the_file_server_s_address_reaches_settings_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENDFLOW_FILES_URL", "http://127.0.0.1:4201/")
    settings = Settings(home=tmp_path)
    assert FileLinks.of(settings) == FileLinks(tmp_path.resolve(), "http://127.0.0.1:4201/")


def test_a_load_s_run_record_links_its_data_docs_pages_on_the_running_server(
    settings: Settings, tmp_path: Path
) -> None:
    """End to end: a real load writes GX pages; its run record's links fetch them from the server."""
    bad = tmp_path / "england_census_2023-24.csv"
    lines = (SAMPLE_DIR / "england_census_2023-24.csv").read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[0], "12345X", 1)  # a URN the suite refuses: a page with findings
    bad.write_text("\n".join(lines) + "\n")
    context = Context.from_settings(settings)
    ensure_schema(context.warehouse)
    outcome = ingest_path(bad, None, context)
    assert outcome.docs_pages, outcome.message

    plain = outcome_markdown(outcome, settings.gx_max_rows)
    assert "file://" not in plain and f"`{outcome.docs_pages[0]}`" in plain

    served = start_file_server(settings)
    try:
        with_server = Settings(home=settings.home, files_url=served.url)
        markdown = outcome_markdown(outcome, settings.gx_max_rows, FileLinks.of(with_server))
        assert "file://" not in markdown
        links = re.findall(r"\]\((http://[^)]+)\)", markdown)
        assert len(links) == len(outcome.docs_pages) and all(link.startswith(served.url) for link in links)
        for link, page in zip(links, outcome.docs_pages, strict=True):
            reply = request(served, "GET", link.removeprefix(served.url.rstrip("/")))
            assert reply.status == 200 and reply.headers["Content-Type"] == "text/html; charset=utf-8"
            assert reply.body == Path(page).read_bytes()
    finally:
        served.close()


def test_the_published_folders_are_those_of_the_settings(settings: Settings) -> None:
    """The server's folders are the places the pipeline writes to: Data Docs, gold, reports."""
    assert {settings.home / f for f in PUBLISHED_FOLDERS} == {
        settings.data_docs_dir, settings.lake_dir / "gold", settings.reports_dir,
    }  # fmt: skip
