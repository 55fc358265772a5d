"""What a file's name (and its folders' names) say: the academic year, a GIAS extract's date."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from sendflow.transforms.common import (
    academic_year_in_text,
)


def academic_year_for(path: Path, given: str | None) -> str | None:
    """--academic-year wins; else a year written in the file name, then in its folder names."""
    if given:
        return given
    for part in (path.name, *(p.name for p in path.parents)):
        year = academic_year_in_text(part)
        if year:
            return year
    return None


_DATE_IN_NAME = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")


def snapshot_date_in_name(path: Path) -> date | None:
    """GIAS extracts are named by their date: edubasealldata20250422.csv."""
    match = _DATE_IN_NAME.search(path.name)
    if not match:
        return None
    try:
        return datetime.strptime("".join(match.groups()), "%Y%m%d").date()
    except ValueError:
        return None
