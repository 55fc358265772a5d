"""Section 251 high-needs budget and outturn by LA: one row per LA, financial year, s251 line and kind.

Three published shapes, told apart by their header, never their file name:

* EES outturn ("LA and school expenditure" underlying data, long): one row per LA and s251 line. The line
  is in `category_of_expenditure` ("1.2.1 Top-up funding – maintained schools", en dash as published).
  There is one column per phase, plus `gross_expenditure`, `income` and `net_expenditure`. `time_period`
  202324 is the financial year 2023-24. kind = 'outturn'.
* EES budget (s251 planned expenditure): the same shape with `category_of_planned_expenditure`,
  `gross_planned_expenditure` and `net_planned_expenditure`. kind = 'budget'.
  In both, national and regional rows (`geographic_level`) are set aside: the LA rows are the grain.
* DfE high-needs benchmarking sheet (wide, one row per LA). It starts with a title block ("Year",
  "2021-22"). Then come a "Section 251 budget" block and a "Section 251 outturn" block of the same seven
  categories: place funding, two top-up categories with phase columns and income, and four service lines.
  Per-head tables follow; they are ignored. The header is the row of category labels. The outturn
  block's labels repeat the budget block's, so they arrive numbered 'X [2]'. The LA number and name
  columns are labelled in the row under the header ('Region', 'LA code', 'LA name'), so they are found
  by that label. An LA that did not exist in the year has '#N/A' (the tool's failed lookup) in every cell
  of a block. The intake reads error cells as empty, so the LA simply has no rows of that kind.

The benchmarking sheet's year rule: both blocks describe the financial year written beside the sheet's
first 'Year' label (cell C2: '2021-22'). The blocks carry no year of their own. The only other
candidate is the caption over the outturn block, "This table has values for 2016-17, ... and 2020-21
currently as data for later years is unavailable", which would make the outturn 2020-21. The sheet's own
rows contradict that caption. North and West Northamptonshire (940, 941), which came into being on
1 April 2021, have outturn figures. Northamptonshire (928), abolished that day, has none. So the outturn
cannot be 2020-21 or any earlier year; the caption is a leftover of the tool's template. The workbook's
external links show where the values were pasted from: a later release of the benchmarking tool, with a
'S251 2021-22 outturn' sheet and no 2022-23 outturn sheet. DfE's SEND dashboard also reads this very file
as 2021-22 outturn (dfe-analytical-services/SEND-AP-Inclusion-Dashboard, 'Outturn data 202122.xlsx').
The '2020-21' under the second 'Year' label (cell AS3) heads the needs-factor columns, not the outturn
block. A file whose title rows name no year is rejected. The suite's
`la_existed_in_year` check quarantines any row whose LA did not exist in the year it was given, so a
wrongly dated block shows up in the quarantine.

Some of the sheet's categories combine s251 lines. Their codes say which lines they combine, as DfE's
benchmarking service documents them (SHEET_LINES below). Place funding is the one line the sheet
publishes only in part. Its total is the special-school and AP/PRU phases of line 1.0.2, checked on
every row: the total equals those two phase columns. It gets a prefixed code so that it can never be
summed with a full 1.0.2 row.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Literal

import polars as pl

from sendflow.transforms import ees
from sendflow.transforms.common import (
    SOURCE_ROW,
    CellKind,
    Layout,
    SourceError,
    SourceInfo,
    cell_status,
    cell_value,
    cells,
    code_text,
    financial_year_in_text,
    harmonise_columns,
    header_key,
    match_columns,
    parse_cells,
)

DATASET = "la_high_needs_spend"
TABLE = "fct_la_high_needs_spend"
KINDS: tuple[str, ...] = ("budget", "outturn")

# The phase breakdown every shape publishes, in the publishers' order.
PHASES: tuple[str, ...] = ("early_years", "primary", "secondary", "special_schools", "pru_and_ap", "post_16")
EES_PHASE_COLUMNS: dict[str, str] = {
    "early_years": "early_years_establishments",
    "primary": "primary_schools",
    "secondary": "secondary_schools",
    "special_schools": "sen_and_special_schools",
    "pru_and_ap": "pupil_referral_units_and_alt_provision",
    "post_16": "post_16",
}
SHEET_PHASE_LABELS: dict[str, str] = {
    "early_years": "Early Years",
    "primary": "Primary",
    "secondary": "Secondary",
    "special_schools": "Special schools and academies",
    "pru_and_ap": "PRUs and AP academies",
    "post_16": "Post School",
}
MEASURES: tuple[str, ...] = ("gross", "income", "net", *PHASES)

_EES_COMMON_OPTIONAL = (
    "time_identifier",
    "geographic_level",
    "region_code",
    "la_name",
    "new_la_code",
    "main_category",
    *EES_PHASE_COLUMNS.values(),
)
EES_OUTTURN = Layout(
    name="ees_s251_outturn",
    dataset=DATASET,
    description="DfE EES 'LA and school expenditure' s251 outturn by LA and line (category_of_expenditure)",
    required=(
        "time_period",
        "old_la_code",
        "category_of_expenditure",
        "gross_expenditure",
        "income",
        "net_expenditure",
    ),
    optional=(*_EES_COMMON_OPTIONAL, "net_per_capita_expenditure"),
    year_from="column",
    cells=cells(CellKind.AMOUNT, "gross_expenditure", "income", "net_expenditure", *EES_PHASE_COLUMNS.values()),
)
EES_BUDGET = Layout(
    name="ees_s251_budget",
    dataset=DATASET,
    description="DfE EES s251 budget (planned expenditure) by LA and line (category_of_planned_expenditure)",
    required=(
        "time_period",
        "old_la_code",
        "category_of_planned_expenditure",
        "gross_planned_expenditure",
        "income",
        "net_planned_expenditure",
    ),
    optional=(*_EES_COMMON_OPTIONAL, "net_per_capita_planned_expenditure"),
    year_from="column",
    cells=cells(
        CellKind.AMOUNT, "gross_planned_expenditure", "income", "net_planned_expenditure", *EES_PHASE_COLUMNS.values()
    ),
)


@dataclass(frozen=True)
class EesMeasures:
    """Which columns of an EES shape hold the line and its totals; the kind follows from the shape."""

    kind: str
    category: str
    gross: str
    net: str


EES_SHAPES: dict[str, EesMeasures] = {
    EES_OUTTURN.name: EesMeasures("outturn", "category_of_expenditure", "gross_expenditure", "net_expenditure"),
    EES_BUDGET.name: EesMeasures(
        "budget", "category_of_planned_expenditure", "gross_planned_expenditure", "net_planned_expenditure"
    ),
}


@dataclass(frozen=True)
class SheetLine:
    """One category of the benchmarking sheet and what it is in s251 terms.

    `label` heads the category's total. The sheet's totals are net of income: on every row, each top-up
    total equals its six phase columns minus its income. So `net_gbp` is always the total, and `gross`
    says where gross comes from: 'phases' (the sum of the phase columns), 'total' (place funding, a line
    with no income in s251), or None (not published: the four service lines give one figure each). The
    sheet does not say whether those single figures are gross or net. They are taken as net, like the
    totals beside them.
    """

    label: str
    line_code: str
    line_name: str
    meaning: str
    gross: Literal["phases", "total"] | None = None
    phase_suffix: str | None = None  # the phase columns are SHEET_PHASE_LABELS + this suffix; None: no phases
    income: str | None = None


# The line codes are those DfE's benchmarking service gives for these categories
# (DFE-Digital/education-benchmarking-and-insights, front-end-components/src/views/benchmark-data-high-needs).
SHEET_LINES: tuple[SheetLine, ...] = (
    SheetLine(
        "Place funding",
        "hnb:1.0.2_special_ap",
        "Place funding: special schools and AP/PRUs",
        "s251 1.0.2, special-school and AP/PRU phases only; the early years, primary, secondary and post-school "
        "place funding shown beside it is not in the total",
        gross="total",
        phase_suffix="",
    ),
    SheetLine(
        "Top up funding (maintained schools, academies, free schools and colleges)",
        "1.2.1+1.2.2+1.2.4+1.2.11",
        "Top up funding (maintained schools, academies, free schools and colleges)",
        "s251 1.2.1 + 1.2.2 + 1.2.4 + 1.2.11 (top-up to maintained schools, to academies, free schools and "
        "colleges, additional targeted funding for mainstream, direct payments)",
        gross="phases",
        phase_suffix=" (1)",
        income="Income (1)",
    ),
    SheetLine(
        "Top up funding (non-maintained and independent schools and colleges)",
        "1.2.3",
        "Top up funding (non-maintained and independent schools and colleges)",
        "s251 1.2.3",
        gross="phases",
        phase_suffix=" (2)",
        income="Income (2)",
    ),
    SheetLine(
        "SEN support and inclusion services",
        "1.2.5+1.2.8+1.2.9",
        "SEN support and inclusion services",
        "s251 1.2.5 + 1.2.8 + 1.2.9 (SEN support services, support for inclusion, special schools and PRUs in "
        "financial difficulty)",
    ),
    SheetLine("Alternative provision services", "1.2.7", "Alternative provision services", "s251 1.2.7"),
    SheetLine("Hospital education services", "1.2.6", "Hospital education services", "s251 1.2.6"),
    SheetLine(
        "Therapies and other health related services",
        "1.2.13",
        "Therapies and other health related services",
        "s251 1.2.13",
    ),
)
SHEET_LA_CODE_LABEL = "LA code"
# The rows right under the header that may hold the LA column labels (the rest of a multi-row header).
SHEET_LABEL_SEARCH_ROWS = 5

_SHEET_PHASE_COLUMNS = tuple(
    f"{SHEET_PHASE_LABELS[phase]}{line.phase_suffix}"
    for line in SHEET_LINES
    if line.phase_suffix is not None
    for phase in PHASES
)
_SHEET_BLOCK_COLUMNS = (
    *(line.label for line in SHEET_LINES),
    *(line.income for line in SHEET_LINES if line.income),
    *_SHEET_PHASE_COLUMNS,
)
BENCHMARKING = Layout(
    name="hn_benchmarking_s251",
    dataset=DATASET,
    description="DfE high-needs benchmarking sheet: s251 budget and outturn blocks by LA (wide)",
    required=(*(line.label for line in SHEET_LINES), "Income (1)", "Income (2)"),
    optional=(*_SHEET_PHASE_COLUMNS, *(f"{c} [2]" for c in _SHEET_BLOCK_COLUMNS)),
    year_from="title",
    allow_repeated=True,
    cells=cells(CellKind.AMOUNT, *_SHEET_BLOCK_COLUMNS, *(f"{c} [2]" for c in _SHEET_BLOCK_COLUMNS)),
)
LAYOUTS: tuple[Layout, ...] = (EES_OUTTURN, EES_BUDGET, BENCHMARKING)

COLUMNS: tuple[str, ...] = (
    "la_code",
    "financial_year",
    "kind",
    "line_code",
    "line_name",
    *(name for measure in MEASURES for name in (f"{measure}_gbp", f"{measure}_status")),
    "source_layout",
    SOURCE_ROW,
)

_SECTION_TITLE = re.compile(r"^section\s+251\s+(budget|outturn)$", re.IGNORECASE)
_LINE_CODE = r"^\s*([0-9]+(?:\.[0-9]+)+)\s+"


def benchmarking_years(preamble: tuple[str, ...]) -> dict[str, str]:
    """The financial year of each block of the benchmarking sheet, from its title rows (the module docstring
    gives the evidence): both blocks are the year beside the first 'Year' label. Captions naming other
    years (the outturn block's 'data for later years is unavailable') do not count."""
    for label, value in itertools.pairwise(preamble):
        if label.strip().lower() == "year":
            year = financial_year_in_text(value)
            if year:
                return dict.fromkeys(KINDS, year)
    raise SourceError("the sheet's title rows name no financial year (expected 'Year' followed by e.g. '2021-22')")


def benchmarking_kinds(preamble: tuple[str, ...]) -> list[str]:
    """The kind of each block, left to right, from the section titles above them ('Section 251 budget')."""
    return [match.group(1).lower() for text in preamble if (match := _SECTION_TITLE.match(text.strip()))]


def _typed(frame: pl.DataFrame) -> pl.DataFrame:
    """Text columns `_<measure>` -> `<measure>_gbp` and `<measure>_status` (publisher symbol, 'x' if blank).
    Every measure of every layout is a CellKind.AMOUNT cell (the layouts declare them so)."""
    texts = [f"_{m}" for m in MEASURES]
    kept = [c for c in frame.columns if c not in texts]
    typed = [
        expr
        for m in MEASURES
        for expr in (cell_value(f"_{m}").alias(f"{m}_gbp"), cell_status(f"_{m}").alias(f"{m}_status"))
    ]
    return parse_cells(frame, dict.fromkeys(texts, CellKind.AMOUNT)).select(*kept, *typed)


def _from_ees(raw: pl.DataFrame, layout: Layout) -> pl.DataFrame:
    shape = EES_SHAPES[layout.name]
    frame = harmonise_columns(raw, layout)
    frame = frame.filter(ees.at_level_or_unlabelled(ees.LOCAL_AUTHORITY))
    category = pl.col(shape.category).str.strip_chars()
    line_code = category.str.extract(_LINE_CODE, 1)
    texts = {
        "_gross": pl.col(shape.gross),
        "_income": pl.col("income"),
        "_net": pl.col(shape.net),
        **{f"_{phase}": pl.col(column) for phase, column in EES_PHASE_COLUMNS.items()},
    }
    frame = frame.select(
        code_text("old_la_code").alias("la_code"),
        ees.financial_year(),
        pl.lit(shape.kind).alias("kind"),
        line_code.alias("line_code"),
        pl.when(line_code.is_not_null())
        .then(category.str.replace(_LINE_CODE, "").str.strip_chars())
        .otherwise(category)
        .alias("line_name"),
        *(text.alias(name) for name, text in texts.items()),
        pl.lit(layout.name).alias("source_layout"),
        pl.col(SOURCE_ROW),
    )
    return _typed(frame)


def _sheet_la_code_column(raw: pl.DataFrame) -> tuple[int, str]:
    """The row under the header that labels the LA columns ('Region', 'LA code', 'LA name'), and the column
    its 'LA code' label is in (unlabelled in the header, so named by position: 'column_2')."""
    columns = [c for c in raw.columns if c != SOURCE_ROW]
    wanted = header_key(SHEET_LA_CODE_LABEL)
    for index, row in enumerate(raw.select(columns).head(SHEET_LABEL_SEARCH_ROWS).iter_rows()):
        for position, cell in enumerate(row):
            if cell and header_key(cell) == wanted:
                return index, columns[position]
    raise SourceError("no 'LA code' label under the header: cannot tell which column holds the LA number")


def _block_suffix(number: int) -> str:
    """How the header numbers a block's repeated labels: '' for the first block, ' [2]' for the second."""
    return "" if number == 1 else f" [{number}]"


def _sheet_blocks(header: list[str], kinds: list[str]) -> list[tuple[str, str]]:
    """(kind, label suffix) of each block of s251 categories, matched to the section titles left to right."""
    first_label = SHEET_LINES[0].label
    blocks = 0
    while match_columns(header, [f"{first_label}{_block_suffix(blocks + 1)}"]):
        blocks += 1
    if not kinds or blocks != len(kinds):
        raise SourceError(
            f"the sheet has {blocks} block(s) of s251 categories but {len(kinds)} section title(s) "
            "('Section 251 budget', 'Section 251 outturn') above them: cannot tell which block is which"
        )
    return [(kind, _block_suffix(number)) for number, kind in enumerate(kinds, start=1)]


@dataclass(frozen=True)
class _SheetColumns:
    """Where one category's figures are in one block."""

    line: SheetLine
    total: str
    income: str | None
    phases: dict[str, str]

    @property
    def columns(self) -> list[str]:
        return [self.total, *([self.income] if self.income else []), *self.phases.values()]


def _sheet_column(header: list[str], label: str, suffix: str) -> str:
    found = match_columns(header, [f"{label}{suffix}"])
    if not found:
        raise SourceError(f"the sheet's {label!r} column is missing from one of its s251 blocks")
    return next(iter(found.values()))


def _sheet_columns(header: list[str], line: SheetLine, suffix: str) -> _SheetColumns:
    phases = (
        {p: _sheet_column(header, f"{SHEET_PHASE_LABELS[p]}{line.phase_suffix}", suffix) for p in PHASES}
        if line.phase_suffix is not None
        else {}
    )
    income = _sheet_column(header, line.income, suffix) if line.income else None
    return _SheetColumns(line, _sheet_column(header, line.label, suffix), income, phases)


def _blank(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String).str.strip_chars().fill_null("") == ""


def _measure(column: str | None) -> tuple[pl.Expr, pl.Expr]:
    """A measure's value and status from its parsed cell; a measure the line does not publish is NULL with
    status 'x', as a blank cell would be."""
    if column is None:
        return pl.lit(None, dtype=pl.Float64), pl.lit("x")
    return cell_value(column), cell_status(column)


def _sheet_line(data: pl.DataFrame, la_code: str, kind: str, year: str, where: _SheetColumns) -> pl.DataFrame:
    """One category's rows of one block, from the block's parsed cells (_sheet_block parses them once)."""
    line = where.line
    sources = {
        "gross": where.total if line.gross == "total" else None,
        "income": where.income,
        "net": where.total,
        **{p: where.phases.get(p) for p in PHASES},
    }
    frame = data.select(
        code_text(la_code).alias("la_code"),
        pl.lit(year).alias("financial_year"),
        pl.lit(kind).alias("kind"),
        pl.lit(line.line_code).alias("line_code"),
        pl.lit(line.line_name).alias("line_name"),
        *(
            expr.alias(f"{m}_{part}")
            for m in MEASURES
            for expr, part in zip(_measure(sources[m]), ("gbp", "status"), strict=True)
        ),
        pl.lit(BENCHMARKING.name).alias("source_layout"),
        pl.col(SOURCE_ROW),
    )
    if line.gross != "phases":
        return frame
    values = [pl.col(f"{p}_gbp") for p in PHASES]
    complete = pl.all_horizontal(v.is_not_null() for v in values)
    return frame.with_columns(
        pl.when(complete).then(pl.sum_horizontal(values)).alias("gross_gbp"),
        pl.when(complete)
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(pl.coalesce(pl.col(f"{p}_status") for p in PHASES))
        .alias("gross_status"),
    )


def _sheet_block(data: pl.DataFrame, la_code: str, kind: str, suffix: str, year: str) -> pl.DataFrame:
    """One block of the sheet as long rows. A row blank throughout the block has no rows for that kind:
    a blank line, or an LA that did not exist that year (Northamptonshire after its split)."""
    where = [_sheet_columns(data.columns, line, suffix) for line in SHEET_LINES]
    used = [column for w in where for column in w.columns]
    present = data.filter(~pl.all_horizontal(_blank(c) for c in used))
    present = parse_cells(present, dict.fromkeys(used, CellKind.AMOUNT))  # every block cell is the layout's AMOUNT
    return pl.concat([_sheet_line(present, la_code, kind, year, w) for w in where])


def _from_benchmarking(raw: pl.DataFrame, source: SourceInfo) -> pl.DataFrame:
    years = benchmarking_years(source.preamble)
    blocks = _sheet_blocks(raw.columns, benchmarking_kinds(source.preamble))
    label_row, la_code = _sheet_la_code_column(raw)
    # The header's continuation rows (labels, phase names) end where the first LA number appears.
    below = raw.slice(label_row + 1)
    first = below.select((~_blank(la_code)).arg_true().first()).item()
    data = below.slice(first if first is not None else below.height)
    return pl.concat([_sheet_block(data, la_code, kind, suffix, years[kind]) for kind, suffix in blocks])


def fct_la_high_needs_spend(raw: pl.DataFrame, source: SourceInfo) -> pl.DataFrame:
    """One row per LA, financial year, kind and s251 line (or documented combination of lines)."""
    if source.layout in EES_SHAPES:
        frame = _from_ees(raw, next(layout for layout in LAYOUTS if layout.name == source.layout))
    elif source.layout == BENCHMARKING.name:
        frame = _from_benchmarking(raw, source)
    else:
        raise ValueError(f"{DATASET} has no layout {source.layout!r}")
    return frame.select(COLUMNS).sort(SOURCE_ROW, "kind", "line_code", maintain_order=True)


def build(raw: pl.DataFrame, source: SourceInfo) -> dict[str, pl.DataFrame]:
    return {TABLE: fct_la_high_needs_spend(raw, source)}
