"""Which trusts' reports a load may change, from what the load replaced (its partitions)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sendflow.reports.read import reportable_trusts, valid_at
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.ledger import query

_DATASETS = ("school_census", "pupil_census", "school_register", "trust_membership", "school_links",
             "dsg_allocation", "la_high_needs_spend", "la_ehcp")  # fmt: skip


_ACADEMIC_YEAR = re.compile(r"\b(\d{4}/\d{2})\b")


_FINANCIAL_YEAR = re.compile(r"\b(\d{4}-\d{2})\b(?!-)")


_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


_PUPIL = re.compile(r"^(\d{4}/\d{2})/(autumn|spring|summer)(?:/(\d{6,}))?")


_SPEND = re.compile(r"^(\d{4}-\d{2})(?:/(budget|outturn))?\b")


_RELEASE = re.compile(r"^(\d{4})(?:/([a-z0-9_]+))?")


# A load replacing more than 12 partitions names them by their first keys and a count ("2023-24 (2 kinds)",
# or for a single key only " (13 snapshot_dates)": see flows/pipeline.py _partition_names).
_COUNTED = re.compile(r"\(\d+ \w+\)")


def _literals(values: Sequence[str]) -> str:
    # Only values that matched the strict patterns above reach here: digits, '-', '/' and lower-case words.
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _parsed(pattern: re.Pattern[str], partitions: Sequence[str], what: str) -> list[str]:
    found = []
    for partition in partitions:
        match = pattern.search(partition)
        if match is None:
            raise ValueError(f"cannot read {what} from partition {partition!r}")
        found.append(match.group(1))
    return sorted(set(found))


def trusts_affected_by(warehouse: Warehouse, dataset: str, partitions: Sequence[str]) -> list[str]:
    """Trusts whose report a load of `dataset` replacing `partitions` (as in the sendflow.dataset.loaded event)
    may change, limited to trusts with a report to write. Raises ValueError for an unknown dataset or a
    partition it cannot read."""
    partitions = [str(p) for p in partitions]
    if not partitions:
        return []
    if dataset not in _DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}")
    if any(_COUNTED.fullmatch(p.strip()) for p in partitions):
        return reportable_trusts(warehouse)  # which partitions is lost: every report may have changed
    if dataset == "school_census":
        years = _literals(_parsed(_ACADEMIC_YEAR, partitions, "an academic year"))
        sql = f"SELECT DISTINCT trust_id FROM v_trust_send_summary WHERE academic_year IN {years}"
    elif dataset == "pupil_census":
        clauses = []
        for partition in partitions:
            match = _PUPIL.search(partition)
            if match is None:
                raise ValueError(f"cannot read a year and term from partition {partition!r}")
            year, term, urn = match.groups()
            clause = f"(academic_year = '{year}' AND census_term = '{term}'" + (f" AND urn = '{urn}')" if urn else ")")
            clauses.append(clause)
        sql = (
            "SELECT DISTINCT d.trust_id FROM (SELECT DISTINCT urn, census_date FROM fct_pupil_census WHERE "
            f"{' OR '.join(clauses)}) p JOIN dim_school d ON d.urn = p.urn AND {valid_at('d', 'p.census_date')}"
        )
    elif dataset in ("school_register", "trust_membership", "school_links"):
        dates = _literals(_parsed(_DATE, partitions, "a snapshot date"))
        table, urn_sql = {
            "school_register": ("school_register_snapshot", "urn"),
            "trust_membership": ("trust_membership_snapshot", "urn"),
            "school_links": ("school_link", "urn"),
        }[dataset]
        urns = f"SELECT {urn_sql} FROM {table} WHERE snapshot_date IN {dates}"
        if dataset == "school_links":
            urns += f" UNION SELECT link_urn FROM school_link WHERE snapshot_date IN {dates}"
        # Every trust those schools ever belonged to: a new extract can end one membership and start another.
        sql = f"SELECT DISTINCT trust_id FROM dim_school WHERE urn IN ({urns})"
        if dataset == "trust_membership":
            sql += f" UNION SELECT group_uid FROM trust_membership_snapshot WHERE snapshot_date IN {dates}"
    else:
        sql = _trusts_in_las(_la_codes_sql(dataset, partitions))
    affected = query(warehouse, sql)
    reportable = set(reportable_trusts(warehouse))
    ids = {str(v) for v in affected[affected.columns[0]].drop_nulls().to_list()} if affected.height else set()
    return sorted(ids & reportable)


def _la_codes_sql(dataset: str, partitions: Sequence[str]) -> str:
    if dataset == "dsg_allocation":
        years = _literals(_parsed(_FINANCIAL_YEAR, partitions, "a financial year"))
        return f"SELECT la_code FROM fct_la_dsg_allocation WHERE financial_year IN {years}"
    if dataset == "la_high_needs_spend":
        clauses = []
        for partition in partitions:
            match = _SPEND.search(partition)
            if match is None:
                raise ValueError(f"cannot read a financial year from partition {partition!r}")
            # A kind may be missing ("2023-24 (2 kinds)"): then every kind of that year.
            kind = f" AND kind = '{match.group(2)}'" if match.group(2) else ""
            clauses.append(f"(financial_year = '{match.group(1)}'{kind})")
        return f"SELECT la_code FROM fct_la_high_needs_spend WHERE {' OR '.join(clauses)}"
    releases = []
    for partition in partitions:
        match = _RELEASE.search(partition)
        if match is None:
            raise ValueError(f"cannot read a release and file from partition {partition!r}")
        table = f" AND source_table = '{match.group(2)}'" if match.group(2) else ""  # "2025 (14 source_tables)"
        releases.append(f"(release = {int(match.group(1))}{table})")
    return f"SELECT la_code FROM la_ehcp_observation WHERE {' OR '.join(releases)}"


def _trusts_in_las(la_codes_sql: str) -> str:
    return (
        "SELECT DISTINCT d.trust_id FROM fct_school_census c "
        f"JOIN dim_school d ON d.urn = c.urn AND {valid_at('d', 'c.census_date')} "
        f"WHERE d.trust_id IS NOT NULL AND c.la_code IN ({la_codes_sql})"
    )
