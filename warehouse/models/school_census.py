"""Published school-level January census: pupils, EHC plans and SEN support per school per year."""

from __future__ import annotations

from datetime import date

from sqlmodel import SQLModel

from sendflow.warehouse.models.columns import code, count, day, load_id, pct, text


class FctSchoolCensus(SQLModel, table=True):
    __tablename__ = "fct_school_census"
    __table_args__ = (
        {"comment": "One row per school per academic year (January census, published school-level data)."},
    )

    urn: str = code("Unique reference number (6 digits).", primary_key=True)
    academic_year: str = code("Academic year, e.g. 2023/24.", primary_key=True)
    census_date: date | None = day("January census day (third Thursday of January).")
    la_code: str | None = code("3-digit DfE LA number as published with the census.", index=True)
    estab: str | None = code("Establishment number (4 digits).")
    laestab: str | None = code("LA and establishment number (7 digits).")
    school_type: str | None = text(
        "School type, harmonised across years (Pupil referral unit -> State-funded AP school)."
    )
    total_pupils: int | None = count("Pupils on roll (headcount).")
    total_pupils_status: str | None = code("Publisher symbol where total_pupils is NULL.")
    ehc_plan: int | None = count("Pupils with an EHC plan (or statement).")
    ehc_plan_status: str | None = code("Publisher symbol where ehc_plan is NULL.")
    sen_support: int | None = count("Pupils on SEN support.")
    sen_support_status: str | None = code("Publisher symbol where sen_support is NULL.")
    ehc_plan_pct: float | None = pct("EHC plans as a percentage of pupils (0-100).")
    sen_support_pct: float | None = pct("SEN support as a percentage of pupils (0-100).")
    ehc_primary_need_spld: int | None = count(
        "EHC plan pupils whose primary need is specific learning difficulty (SPLD)."
    )
    ehc_primary_need_mld: int | None = count(
        "EHC plan pupils whose primary need is moderate learning difficulty (MLD)."
    )
    ehc_primary_need_sld: int | None = count("EHC plan pupils whose primary need is severe learning difficulty (SLD).")
    ehc_primary_need_pmld: int | None = count(
        "EHC plan pupils whose primary need is profound and multiple learning difficulty (PMLD)."
    )
    ehc_primary_need_semh: int | None = count(
        "EHC plan pupils whose primary need is social, emotional and mental health (SEMH)."
    )
    ehc_primary_need_slcn: int | None = count(
        "EHC plan pupils whose primary need is speech, language and communication needs (SLCN)."
    )
    ehc_primary_need_hi: int | None = count("EHC plan pupils whose primary need is hearing impairment (HI).")
    ehc_primary_need_vi: int | None = count("EHC plan pupils whose primary need is visual impairment (VI).")
    ehc_primary_need_msi: int | None = count("EHC plan pupils whose primary need is multi-sensory impairment (MSI).")
    ehc_primary_need_pd: int | None = count("EHC plan pupils whose primary need is physical disability (PD).")
    ehc_primary_need_asd: int | None = count("EHC plan pupils whose primary need is autistic spectrum disorder (ASD).")
    ehc_primary_need_oth: int | None = count(
        "EHC plan pupils whose primary need is other difficulty or disability (OTH)."
    )
    ehc_primary_need_nsa: int | None = count(
        "EHC plan pupils whose primary need is SEN support but no specialist assessment of type of need (NSA)."
    )
    sen_support_primary_need_spld: int | None = count(
        "SEN support pupils whose primary need is specific learning difficulty (SPLD)."
    )
    sen_support_primary_need_mld: int | None = count(
        "SEN support pupils whose primary need is moderate learning difficulty (MLD)."
    )
    sen_support_primary_need_sld: int | None = count(
        "SEN support pupils whose primary need is severe learning difficulty (SLD)."
    )
    sen_support_primary_need_pmld: int | None = count(
        "SEN support pupils whose primary need is profound and multiple learning difficulty (PMLD)."
    )
    sen_support_primary_need_semh: int | None = count(
        "SEN support pupils whose primary need is social, emotional and mental health (SEMH)."
    )
    sen_support_primary_need_slcn: int | None = count(
        "SEN support pupils whose primary need is speech, language and communication needs (SLCN)."
    )
    sen_support_primary_need_hi: int | None = count("SEN support pupils whose primary need is hearing impairment (HI).")
    sen_support_primary_need_vi: int | None = count("SEN support pupils whose primary need is visual impairment (VI).")
    sen_support_primary_need_msi: int | None = count(
        "SEN support pupils whose primary need is multi-sensory impairment (MSI)."
    )
    sen_support_primary_need_pd: int | None = count(
        "SEN support pupils whose primary need is physical disability (PD)."
    )
    sen_support_primary_need_asd: int | None = count(
        "SEN support pupils whose primary need is autistic spectrum disorder (ASD)."
    )
    sen_support_primary_need_oth: int | None = count(
        "SEN support pupils whose primary need is other difficulty or disability (OTH)."
    )
    sen_support_primary_need_nsa: int | None = count(
        "SEN support pupils whose primary need is SEN support but no specialist assessment of type of need (NSA)."
    )
    girls: int | None = count("Girls on roll.")
    boys: int | None = count("Boys on roll.")
    eal_pupils: int | None = count("Pupils whose first language is known or believed to be other than English.")
    english_first_language_pupils: int | None = count("Pupils whose first language is English.")
    unclassified_language_pupils: int | None = count("Pupils whose first language is unclassified.")
    fsm_pupils: int | None = count("Pupils eligible for free school meals.")
    fsm_ever_6_pupils: int | None = count("Pupils eligible for FSM at any time in the last six years.")
    fsm_ever_6_denominator: int | None = count("Pupils counted for the FSM-ever-6 percentage (2023-24 on).")
    eal_pct: float | None = pct("EAL pupils as a percentage (0-100).")
    unclassified_language_pct: float | None = pct("Unclassified first language as a percentage (0-100).")
    fsm_ever_6_pct: float | None = pct("FSM ever 6 as a percentage (0-100).")
    supplementary_status: str | None = code("Publisher symbol where the language and FSM columns are not published.")
    source_layout: str | None = code("Layout of the source file.")
    source_row_number: int | None = count("Row in the source file, counting the header as row 1.")
    load_id: int | None = load_id()
