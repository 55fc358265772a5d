"""docs/data-dictionary.md is what warehouse/dictionary.py renders, and it describes every table, view and column."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sendflow.warehouse import dictionary, models
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.ledger import query
from sendflow.warehouse.schema import ensure_schema
from sendflow.warehouse.views import VIEWS
from tests.conftest import CONTRACT, PROJECT

DICTIONARY = PROJECT / "docs" / "data-dictionary.md"


@dataclass
class Section:
    description: str = ""
    columns: dict[str, str] = field(default_factory=dict)


def _cells(row: str) -> list[str]:
    # Descriptions escape their pipes as \|: split only on the others.
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def parse(markdown: str) -> dict[str, Section]:
    """Table or view name -> its description (the first paragraph under its heading) and column descriptions."""
    sections: dict[str, Section] = {}
    current: Section | None = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = None
        elif line.startswith("### "):
            current = sections.setdefault(line.removeprefix("### ").strip(), Section())
        elif current is None or not line.strip():
            continue
        elif line.startswith("| `"):
            cells = _cells(line)
            current.columns[cells[0].strip("`")] = cells[-1]
        elif not current.description and not line.startswith(("|", "**")):
            current.description = line.strip()
    return sections


@pytest.fixture(scope="module")
def committed() -> str:
    assert DICTIONARY.exists(), f"{DICTIONARY} is missing: run `{dictionary.REGENERATE}` from the project root"
    return DICTIONARY.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def view_columns(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Derived here independently of the module under test, from a warehouse of this test's own."""
    warehouse = Warehouse(f"sqlite:///{tmp_path_factory.mktemp('dictionary') / 'w.sqlite'}")
    ensure_schema(warehouse)
    return {view.name: query(warehouse, f"PRAGMA table_info({view.name})")["name"].to_list() for view in VIEWS}


def test_committed_dictionary_is_what_the_code_renders(committed: str) -> None:
    rendered = dictionary.render()
    assert committed == rendered, (
        f"docs/data-dictionary.md is out of date with the models and views: run `{dictionary.REGENERATE}` "
        "from the project root and commit the result"
    )


def test_rendering_is_deterministic_and_machine_independent(committed: str) -> None:
    assert dictionary.render() == dictionary.render()
    assert "/tmp" not in committed and str(PROJECT) not in committed
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", committed), "the dictionary carries a date"


def test_every_table_and_column_is_described(committed: str) -> None:
    sections = parse(committed)
    for table in models.metadata.tables.values():
        assert table.name in sections, f"table {table.name} is missing from {DICTIONARY.name}"
        section = sections[table.name]
        assert section.description, f"table {table.name} has no description (give the model a table comment)"
        for column in table.columns:
            assert column.name in section.columns, f"column {table.name}.{column.name} is missing"
            assert section.columns[column.name], f"column {table.name}.{column.name} has no description (comment)"


def test_every_view_and_view_column_is_described(committed: str, view_columns: dict[str, list[str]]) -> None:
    sections = parse(committed)
    for view in VIEWS:
        assert view.name in sections, f"view {view.name} is missing from {DICTIONARY.name}"
        section = sections[view.name]
        assert section.description, f"view {view.name} has no description (its comment)"
        assert view_columns[view.name], f"view {view.name} has no columns in a fresh warehouse"
        assert list(section.columns) == view_columns[view.name], f"view {view.name}'s columns differ"
        undescribed = [c for c in view_columns[view.name] if not section.columns[c]]
        assert not undescribed, f"describe {view.name}.{undescribed} in sendflow.warehouse.dictionary.VIEW_COLUMNS"


def test_view_descriptions_name_only_columns_the_views_have(view_columns: dict[str, list[str]]) -> None:
    """A description left behind by a renamed or dropped view column would otherwise go unnoticed."""
    for view, described in dictionary.VIEW_COLUMNS.items():
        assert view in view_columns, f"VIEW_COLUMNS describes {view}, which is not a view"
        assert set(described) <= set(view_columns[view]), f"{view} has no {set(described) - set(view_columns[view])}"


def test_groups_come_in_order_and_names_alphabetically_within_them(committed: str) -> None:
    groups = [line.removeprefix("## ") for line in committed.splitlines() if line.startswith("## ")]
    assert groups == list(dictionary.GROUPS)
    names_by_group: dict[str, list[str]] = {}
    group = ""
    for line in committed.splitlines():
        if line.startswith("## "):
            group = line.removeprefix("## ")
        elif line.startswith("### "):
            names_by_group.setdefault(group, []).append(line.removeprefix("### "))
    for group, names in names_by_group.items():
        assert names == sorted(names), group
    assert all(n.startswith("dim_") for n in names_by_group["Dimensions"])
    assert all(n.startswith("fct_") for n in names_by_group["Facts"])
    assert set(names_by_group["Views"]) == {view.name for view in VIEWS}


def test_contract_names_are_marked_and_exist(committed: str) -> None:
    for relation in dictionary.relations():
        required = dictionary.CONTRACT.get(relation.name)
        if required is None:
            continue
        missing = set(required) - {c.name for c in relation.columns}
        assert not missing, f"{relation.name} lacks the contract's required columns {sorted(missing)}"
    sections = committed.split("\n### ")
    marked = {s.split("\n", 1)[0] for s in sections[1:] if "**Contract:**" in s}
    assert marked == set(dictionary.CONTRACT)


def _contract_file() -> Path:
    if not CONTRACT.exists():
        if os.environ.get("REQUIRE_REAL_DATA", "") not in ("", "0", "false"):
            pytest.fail(f"REQUIRE_REAL_DATA=1 but the warehouse contract {CONTRACT} (in ../shared) is missing")
        pytest.skip(f"the warehouse contract {CONTRACT} is absent")
    return CONTRACT


def test_committed_contract_names_match_the_contract() -> None:
    """dictionary.CONTRACT stands in for the contract when ../shared is absent: it must say the same."""
    contract: dict[str, set[str]] = {}
    for line in _contract_file().read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not re.fullmatch(r"`\w+`", cells[0]):
            continue
        columns = set(re.findall(r"`([\w<>]+)`", cells[2]))
        # 'ehc_primary_need_<code>' stands for one column per code the same cell lists.
        codes = re.search(r"code lower case: ([a-z, ]+)\)", cells[2])
        for pattern in [c for c in columns if "<code>" in c]:
            assert codes, f"{cells[0]}: {pattern} without its list of codes"
            columns.remove(pattern)
            columns |= {pattern.replace("<code>", code.strip()) for code in codes.group(1).split(",")}
        contract[cells[0].strip("`")] = columns
    assert contract, f"no tables found in {CONTRACT}"
    assert {name: set(columns) for name, columns in dictionary.CONTRACT.items()} == contract
