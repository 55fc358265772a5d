"""The name an offered file is shown by, from its own name and whether it holds pupil-level data: decided
without the datasets' code (registry/names.py), so a repeat offer is answered before Polars is imported."""

from __future__ import annotations

import re

from sendflow.core.identifiers import UPN_SHAPED
from sendflow.core.vocabulary import SYNTHETIC_MARK, CensusTerm
from sendflow.registry.names import DatasetName

# In a shown name, what stands for a part of it that is not shown.
REDACTED = "~"
# Words a pupil file's name may keep: what the file is, never who is in it.
SAFE_WORDS = frozenset(
    {
        *(word for dataset in DatasetName for word in dataset.value.split("_")),
        *CensusTerm, SYNTHETIC_MARK, "aut", "spr", "sum", "term", "return", "returns", "pupils", "schools",
        "export", "extract",
        "data", "file", "final", "draft", "copy", "trust", "lea", "estab", "sen", "send", "cbds", "collect",
        "dfe", "mis", "upload", "all", "january", "jan", "february", "feb", "march", "mar", "april", "apr",
        "may", "june", "jun", "july", "jul", "august", "aug", "september", "sep", "sept", "october", "oct",
        "november", "nov", "december", "dec", "csv", "xlsx", "xlsm", "xls", "ods", "xml", "txt", "zip",
    }
)  # fmt: skip
_SEPARATORS = re.compile(r"([-_. ]+)")
# Digits alone: an LA (3), a year or an establishment number (4), an LAESTAB (7). Not 6 or 8, which a date
# of birth written without separators would be (and a URN is not worth that risk in a name).
_SAFE_DIGITS = frozenset({3, 4, 7})


def source_label(name: str, personal: bool) -> str:
    """A file's name as it may be shown: UPN-shaped parts redacted (`~`) whatever the file is, since only a
    pupil has one; for a pupil-level file, also every part but known words (census, spring, return...),
    digits alone of an LA, year, establishment or LAESTAB, and the year after a year (`2023-24`).

    'A201361416001_Adams_spring_2024.csv' -> '~_~_spring_2024.csv' (personal) or '~_Adams_spring_2024.csv'.
    """
    name = re.sub(UPN_SHAPED, REDACTED, name)
    if not personal:
        return name
    parts = _SEPARATORS.split(name)  # tokens at even positions, separators between them
    return "".join(part if _safe(parts, position) else REDACTED for position, part in enumerate(parts))


def _safe(parts: list[str], position: int) -> bool:
    part = parts[position]
    if position % 2 or not part or part == REDACTED or part.lower() in SAFE_WORDS:
        return True
    if not (part.isascii() and part.isdigit()):
        return False
    return len(part) in _SAFE_DIGITS or (len(part) == 2 and _follows_its_year(parts, position))


def _follows_its_year(parts: list[str], position: int) -> bool:
    """'24' in '2023-24': a 4-digit year, one separator, then that year's last two digits plus one."""
    if position < 2 or parts[position - 1] not in ("-", "_"):
        return False
    year = parts[position - 2]
    return year.isascii() and year.isdigit() and len(year) == 4 and (int(year) + 1) % 100 == int(parts[position])
