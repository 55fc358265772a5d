"""The warehouse's data dictionary in Markdown, built only from code: the models, the views and a scratch warehouse.

Regenerate the committed copy from the project root with

    .venv/bin/python -m sendflow.warehouse.dictionary > docs/data-dictionary.md

tests/warehouse/test_dictionary.py fails while the committed copy differs from what this module renders.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from sendflow.core.vocabulary import NEED_CODES
from sendflow.warehouse import models
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.ledger import query
from sendflow.warehouse.schema import ensure_schema
from sendflow.warehouse.views import VIEW_COLUMNS, VIEWS

REGENERATE = ".venv/bin/python -m sendflow.warehouse.dictionary > docs/data-dictionary.md"

# Names ../shared/design/warehouse-contract.md requires, with their required columns. Kept here rather than
# read from the contract so the dictionary renders the same with or without ../shared (a checkout of this
# repository alone, CI); the test compares it with the contract whenever the contract is present.
CONTRACT: dict[str, tuple[str, ...]] = {
    "dim_local_authority": ("la_code", "la_name", "ons_code", "region_name", "successor_la_code"),
    "dim_school": (
        "urn", "laestab", "la_code", "school_name", "establishment_type", "phase", "is_open", "open_date",
        "close_date", "trust_id", "valid_from", "valid_to", "is_current",
    ),
    "dim_trust": ("trust_id", "trust_ref", "trust_name", "companies_house_number", "trust_type"),
    "fct_school_census": (
        "urn", "academic_year", "la_code", "total_pupils", "ehc_plan", "sen_support", "ehc_plan_pct",
        "sen_support_pct",
        # The contract names the need columns as a pattern over the primary-need codes.
        *(f"ehc_primary_need_{need}" for need in NEED_CODES),
        *(f"sen_support_primary_need_{need}" for need in NEED_CODES),
        "load_id",
    ),
    "fct_pupil_census": (
        "pupil_key", "urn", "academic_year", "census_term", "census_date", "nc_year", "age_at_census", "sex",
        "sen_provision", "primary_need", "secondary_need", "is_fsm_eligible", "load_id",
    ),
    "fct_la_dsg_allocation": ("la_code", "financial_year", "block", "basis", "amount_gbp", "load_id"),
    "fct_la_high_needs_spend": (
        "la_code", "financial_year", "kind", "line_code", "line_name", "gross_gbp", "income_gbp", "net_gbp", "load_id",
    ),
    "fct_la_ehcp": (
        "la_code", "calendar_year", "measure", "breakdown", "value", "value_status", "release", "load_id",
    ),
    "etl_load": (
        "load_id", "dataset", "source_name", "source_sha256", "status", "rows_read", "rows_loaded",
        "rows_quarantined", "started_at", "finished_at", "message",
    ),
    "etl_quarantine": ("load_id", "dataset", "source_row_number", "reasons", "record"),
    "v_trust_send_summary": (
        "trust_id", "trust_name", "academic_year", "schools", "total_pupils", "ehc_plan", "sen_support",
        "ehc_plan_pct", "sen_support_pct", "la_ehc_plan_pct", "national_ehc_plan_pct", "national_sen_support_pct",
    ),
    "v_la_send_funding_gap": (
        "la_code", "la_name", "financial_year", "ehcp_caseload", "high_needs_block_gbp", "high_needs_gbp_per_ehcp",
        "ehcp_growth_pct", "high_needs_growth_pct", "high_needs_net_outturn_gbp",
    ),
    "v_census_reconciliation": (
        "urn", "academic_year", "census_term", "pupils_returned", "pupils_published", "pupils_diff",
        "ehc_plan_returned", "ehc_plan_published", "ehc_plan_diff", "sen_support_returned", "sen_support_published",
        "sen_support_diff",
    ),
}  # fmt: skip


GROUPS = ("Dimensions", "Facts", "Views", "Load metadata", "Other tables")


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    sql_type: str = ""  # empty for view columns: SQLite cannot say what PostgreSQL would type them as
    nullable: bool = True
    primary_key: bool = False


@dataclass(frozen=True)
class Relation:
    name: str
    group: str
    description: str
    columns: tuple[Column, ...]
    reads: tuple[str, ...] = ()  # what a view is built from

    @property
    def is_view(self) -> bool:
        return self.group == "Views"

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.primary_key)


def sql_type(column: sa.Column) -> str:
    """The type as PostgreSQL declares it (SQLite stores the same values, dates and timestamps as ISO text)."""
    kind = column.type
    # Order matters: BigInteger is an Integer, DateTime is not a Date, Text is a String.
    for python_type, name in (
        (sa.Boolean, "boolean"),
        (sa.BigInteger, "bigint"),
        (sa.Integer, "integer"),
        (sa.Double, "double precision"),
        (sa.Float, "double precision"),
        (sa.DateTime, "timestamp"),
        (sa.Date, "date"),
        (sa.String, "text"),
    ):
        if isinstance(kind, python_type):
            return name
    # Fail rather than guess: a new column type needs a deliberate name here.
    raise TypeError(f"{column.table.name}.{column.name}: no SQL name for {kind!r}")


def _group(name: str) -> str:
    if name.startswith("dim_"):
        return "Dimensions"
    if name.startswith("fct_"):
        return "Facts"
    if name.startswith("etl_"):
        return "Load metadata"
    return "Other tables"


def _table(table: sa.Table) -> Relation:
    columns = tuple(
        Column(
            name=c.name,
            description=c.comment or "",
            sql_type=sql_type(c),
            nullable=bool(c.nullable) and not c.primary_key,
            primary_key=c.primary_key,
        )
        for c in table.columns
    )
    return Relation(table.name, _group(table.name), table.comment or "", columns)


def view_columns() -> dict[str, list[str]]:
    """Each view's column names, in order, as a freshly created SQLite warehouse reports them.

    The views are SQL text, so their columns are only known once a database has compiled them. The scratch
    warehouse goes through the project's own sessions (ADBC), never sqlite3 or SQLAlchemy beside them: two
    SQLite libraries on one file corrupt it (see warehouse/connection.py).
    """
    with tempfile.TemporaryDirectory(prefix="sendflow-dictionary-") as folder:
        warehouse = Warehouse(f"sqlite:///{Path(folder) / 'w.sqlite'}")
        ensure_schema(warehouse)
        found: dict[str, list[str]] = {}
        for view in VIEWS:
            info = query(warehouse, f"PRAGMA table_info({view.name})")
            if info.is_empty():
                raise RuntimeError(f"view {view.name} was not created in a fresh warehouse (requires {view.requires})")
            found[view.name] = info.sort("cid")["name"].to_list()
        return found


def _view(name: str, comment: str, reads: tuple[str, ...], columns: list[str]) -> Relation:
    described = VIEW_COLUMNS.get(name, {})
    return Relation(
        name,
        "Views",
        comment,
        tuple(Column(name=column, description=described.get(column, "")) for column in columns),
        reads,
    )


def relations() -> list[Relation]:
    """Every table and view, grouped (dimensions, facts, views, load metadata, the rest), by name within a group."""
    found = [_table(table) for table in models.metadata.tables.values()]
    derived = view_columns()
    found += [_view(v.name, v.comment, v.requires, derived[v.name]) for v in VIEWS]
    return sorted(found, key=lambda r: (GROUPS.index(r.group), r.name))


def _cell(text: str) -> str:
    # A pipe ends a table cell and '<topic>' would be swallowed as an HTML tag: escape both, keep one line.
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|").replace("<", "\\<")


def _yes(flag: bool) -> str:
    return "yes" if flag else ""


def _section(relation: Relation) -> list[str]:
    lines = [f"### {relation.name}", "", _cell(relation.description), ""]
    required = CONTRACT.get(relation.name)
    if required is not None:
        lines += ["**Contract:** the public interface; columns marked *contract* keep their names and meanings.", ""]
    if relation.is_view:
        lines += [f"**Reads:** {', '.join(f'`{name}`' for name in sorted(relation.reads))}", ""]
    else:
        lines += [f"**Grain (primary key):** {', '.join(f'`{name}`' for name in relation.key)}", ""]
    header = ["column"] if relation.is_view else ["column", "type", "nullable", "primary key"]
    header += ["contract"] if required is not None else []
    header += ["description"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for column in relation.columns:
        cells = [f"`{column.name}`"]
        if not relation.is_view:
            cells += [column.sql_type, "yes" if column.nullable else "no", _yes(column.primary_key)]
        if required is not None:
            cells.append(_yes(column.name in required))
        cells.append(_cell(column.description))
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def render() -> str:
    """The data dictionary as Markdown; the same text on every run (no dates, no paths of this machine)."""
    found = relations()
    lines = [
        "# Data dictionary",
        "",
        "<!-- Generated by warehouse/dictionary.py; do not edit. Regenerate from the project root with:",
        f"     {REGENERATE} -->",
        "",
        "Every table and view of the warehouse, with its columns. Table and column descriptions are the SQL",
        "comments the models carry, and view columns' are in `warehouse/views.py` (all are `COMMENT ON` in",
        "PostgreSQL). Types are as PostgreSQL declares them: SQLite stores the same values, with",
        "dates and timestamps as ISO text; timestamps are UTC (`timestamptz` in PostgreSQL). Names marked",
        "*contract* are required by the warehouse contract (`../shared/design/warehouse-contract.md`): they keep",
        "their names and meanings across releases. The lake's silver tables have the same columns.",
        "",
    ]
    for group in GROUPS:
        members = [r for r in found if r.group == group]
        if members:
            lines.append(f"- {group}: " + ", ".join(f"[{r.name}](#{r.name})" for r in members))
    lines.append("")
    for group in GROUPS:
        members = [r for r in found if r.group == group]
        if not members:
            continue
        lines += [f"## {group}", ""]
        for relation in members:
            lines += _section(relation)
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
