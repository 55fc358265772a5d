"""The trust SEND report from what was read for it: pure Polars, frames in, report out.

`read.load_trust_data` reads the warehouse into a `TrustData`; `trust_report` puts the sections (one module each
under sections/) in page order with the disclosure rule. Nothing here reads files or the database, so every
number is testable from frames.
"""

from __future__ import annotations

from datetime import date

from sendflow.reports.model import TrustData, TrustReport
from sendflow.reports.sections import funding, peers, pupil_returns, schools, trust


def disclosure_rule(threshold: int) -> str:
    return (
        f"Counts derived from the trust's pupil-level returns from 1 to {threshold - 1} (below the threshold of "
        f"{threshold}) are shown as c. Secondary suppression then hides the smallest further counts needed so that "
        "no hidden count can be worked out by adding or subtracting rows, columns and totals (checked exactly "
        "for every table). A percentage or difference computed from a hidden count is hidden too. Zeros are shown. "
        "Published school-level DfE figures are shown as published; a c or x there is DfE's own symbol."
    )


def trust_report(data: TrustData, threshold: int, distance: float, generated_on: date) -> TrustReport:
    """The whole report: sections in page order, each chart with its reading and the table behind it."""
    name = data.trust_name or f"Trust {data.trust_id}"
    sections = [trust.section(data)]
    peer_section = peers.section(data)
    if peer_section is not None:
        sections.append(peer_section)
    sections += [schools.section(data, distance), funding.section(data)]
    pupil_section = pupil_returns.section(data, threshold)
    if pupil_section is not None:
        sections.append(pupil_section)
    return TrustReport(
        data.trust_id,
        name,
        data.trust_ref,
        data.trust_type,
        data.academic_year,
        generated_on,
        threshold,
        distance,
        disclosure_rule(threshold),
        tuple(sections),
        data.synthetic_note,
        data.trust_status,
        data.closed_date,
    )
