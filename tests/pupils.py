"""Tiny pupil-level census files for tests, in the CSV layout, around real schools of the sample census."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from tests.transforms.test_upn import check_letter

HEADER = ["LEA", "Estab", "Term", "ReferenceDate", "UPN", "Surname", "Forename", "DOB", "Sex", "NCyearActual",
          "EnrolStatus", "FSMeligible", "SENprovision", "SENtype1", "SENtype2", "Postcode"]  # fmt: skip
SURNAMES = ["Abbott", "Begum", "Chowdhury", "Davies", "Evans", "Farah", "Green", "Hussain", "Iqbal", "Jones"]
FORENAMES = ["Amara", "Ben", "Chloe", "Dev", "Ella", "Finn", "Grace", "Hamza", "Isla", "Jack"]


@dataclass
class School:
    la: str
    estab: str
    pupils: int
    ehc: int
    support: int
    primary: bool = True
    rows: list[dict[str, str]] = field(default_factory=list)


def upn(la: str, estab: str, year: int, serial: int) -> str:
    body = f"{la}{estab}{year % 100:02d}{serial:03d}"
    return check_letter(body) + body


def pupils(school: School, seed: int = 1, census_day: date = date(2024, 1, 18)) -> list[dict[str, str]]:
    """`pupils` rows: the first `ehc` with E, the next `support` with K, the rest N; spring 2024."""
    rng = random.Random(seed * 1_000_003 + int(school.la + school.estab))
    rows = []
    for n in range(school.pupils):
        year_group = rng.randint(1, 6) if school.primary else rng.randint(7, 11)
        birth_year = census_day.year - year_group - 5 + (1 if census_day.month < 9 else 0)
        born = date(birth_year, rng.randint(9, 12), rng.randint(1, 28))
        provision = "E" if n < school.ehc else "K" if n < school.ehc + school.support else "N"
        need = {"E": "ASD", "K": "SLCN"}.get(provision, "")
        rows.append(
            {
                "LEA": school.la, "Estab": school.estab, "Term": "SPR", "ReferenceDate": census_day.isoformat(),
                "UPN": upn(school.la, school.estab, 2016, n), "Surname": rng.choice(SURNAMES) + f"-{n}",
                "Forename": rng.choice(FORENAMES), "DOB": born.isoformat(), "Sex": rng.choice("MF"),
                "NCyearActual": str(year_group), "EnrolStatus": "C", "FSMeligible": rng.choice(["true", "false"]),
                "SENprovision": provision, "SENtype1": need,
                "SENtype2": "", "Postcode": f"NW{rng.randint(1, 9)} {rng.randint(1, 9)}AB",
            }
        )  # fmt: skip
    return rows


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HEADER, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def personal_values(rows: list[dict[str, str]]) -> set[str]:
    """Every UPN, name, date of birth and postcode in the rows: none may appear anywhere downstream."""
    return {row[c] for row in rows for c in ("UPN", "Surname", "DOB", "Postcode") if row[c]}
