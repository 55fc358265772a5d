"""Links to the home's published files: the folders `sendflow serve` serves over HTTP, and the URL of a file in them.

Browsers refuse file:// links from a web page (the Prefect UI), so run records link the file server's URLs when
one runs (SENDFLOW_FILES_URL) and otherwise show the plain path. `web/files.py` serves exactly these folders and
finds a requested file the same way (`real_place`), so a link built here is one the server answers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sendflow.core.settings import Settings

# The only folders of the home served over HTTP, as their URL paths (and their places under the home).
# Never bronze, silver, landing, the pupil key, the warehouse, Prefect's home or logs.
PUBLISHED_FOLDERS: tuple[str, ...] = ("data-docs", "lake/gold", "reports")


def published_root(home: Path, folder: str) -> Path:
    return home.joinpath(*folder.split("/"))


def is_hidden(name: str) -> bool:
    return name.startswith(".")


def real_place(root: Path, candidate: Path) -> Path | None:
    """Where `candidate` really is (links followed), if that lies inside `root` (also links followed) and no name
    below `root` is hidden; else None. The one containment check of the links and the server."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(candidate)
    if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
        return None
    inside = Path(real).relative_to(real_root)
    if any(is_hidden(part) for part in inside.parts):
        return None
    return Path(real)


def _markdown_text(text: str) -> str:
    return "".join("\\" + c if c in "\\[]" else c for c in text)


def _markdown_code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


@dataclass(frozen=True)
class FileLinks:
    """How run records name a file of the home: its URL on the file server, or its path when none runs."""

    home: Path
    files_url: str = ""  # e.g. http://127.0.0.1:4201/; empty: no file server, so plain paths

    @classmethod
    def of(cls, settings: Settings) -> FileLinks:
        return cls(settings.home, settings.files_url)

    def url(self, path: str | Path) -> str | None:
        """The file's URL (each name percent-encoded), or None: no file server, or the file is not published."""
        if not self.files_url:
            return None
        base = self.files_url if self.files_url.endswith("/") else self.files_url + "/"
        for folder in PUBLISHED_FOLDERS:
            root = published_root(self.home, folder)
            real = real_place(root, Path(path))
            if real is not None:
                inside = real.relative_to(os.path.realpath(root)).parts
                return base + folder + "/" + "/".join(quote(part, safe="") for part in inside)
        return None

    def markdown(self, path: str | Path, name: str | None = None) -> str:
        """`[name](url)` when the file server has it, else the path in backticks (never a file:// URL)."""
        url = self.url(path)
        if url is None:
            return _markdown_code(str(path))
        return f"[{_markdown_text(name or Path(path).name)}]({url})"


PATHS_ONLY = FileLinks(Path())  # no file server: every file shown as its path
