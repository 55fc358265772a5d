"""A trust's own pupil-level census returns, pseudonymised: no UPN, name, date of birth or postcode."""

from __future__ import annotations

from datetime import date

from sqlmodel import SQLModel

from sendflow.warehouse.models.columns import code, count, day, flag, load_id


class FctPupilCensus(SQLModel, table=True):
    __tablename__ = "fct_pupil_census"
    # SQLite keeps the rows in their primary key's own B-tree (no rowid table beside an index): a national
    # census loads a quarter faster into a file a third smaller.
    __table_args__ = (
        {"comment": "One row per pupil per school per census, from a trust's own returns.", "sqlite_with_rowid": False},
    )

    urn: str = code("School URN (from the return's LA and establishment numbers).", primary_key=True)
    academic_year: str = code("Academic year of the census, e.g. 2023/24.", primary_key=True)
    census_term: str = code("autumn, spring or summer.", primary_key=True)
    pupil_key: str = code("HMAC-SHA256 of the pupil's UPN under the trust's secret key; never the UPN.",
                          primary_key=True)  # fmt: skip
    census_date: date | None = day("Census day (the return's reference date).")
    la_code: str | None = code("3-digit DfE LA number of the school.")
    estab: str | None = code("Establishment number (4 digits).")
    laestab: str | None = code("LA and establishment number (7 digits).")
    nc_year: str | None = code("National curriculum year: N1, N2, R, 1-14 or X.")
    age_at_census: int | None = count("Age in whole years on census day (the date of birth is not kept).")
    sex: str | None = code("M or F.")
    sen_provision: str | None = code("E (EHC plan; legacy S), K (SEN support) or N (no SEN).")
    primary_need: str | None = code("SEN type ranked 1 (ASD, SLCN, SEMH, ...); NULL for pupils without SEN.")
    secondary_need: str | None = code("SEN type ranked 2, if the school recorded one; NULL otherwise.")
    is_fsm_eligible: bool | None = flag("Eligible for free school meals.")
    enrol_status: str | None = code("C single registration, M main dual, S subsidiary dual, G guest.")
    upn_status: str | None = code("permanent or temporary UPN (the kind, never the number).")
    source_layout: str | None = code("Layout of the source file (CSV or flattened XML).")
    source_row_number: int | None = count("Row (CSV) or pupil position (XML) in the source file.")
    load_id: int | None = load_id(indexed=False)
