"""Synthetic returns from the published census, as CSV and XML files, and the XML reader that flattens them."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from sendflow.cli.main import main
from sendflow.core.settings import Settings
from sendflow.intake.census_xml import COLUMNS, looks_like_xml, read_pupil_xml
from sendflow.intake.raw import Rejection
from sendflow.loading.file_load import Context, ingest_path
from sendflow.synthetic.census import DEFAULT_NEED_MIX, PUPIL_COLUMNS
from sendflow.synthetic.writers import SynthError, generate_census, need_mix_from
from sendflow.transforms.common import SOURCE_ROW
from sendflow.warehouse import ledger
from sendflow.warehouse.schema import ensure_schema
from tests.conftest import PROJECT, SAMPLE_DIR, _reset_postgres

CENSUS = SAMPLE_DIR / "england_census_2023-24.csv"
HEADERS = PROJECT / "tests" / "fixtures" / "headers"
# A primary, a special and a secondary school of the sample census, an independent school (no FSM count) and
# one with no pupils.
URNS = ["100000", "100092", "112378", "135555", "150258"]
TRUST = "5002"  # 100000 and 100092 in the GIAS extract below
NEEDS_HEADER = (
    "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,new_la_code,"
    "old_la_code,la_name,breakdown_topic,breakdown,ehc_plans,number_asd,number_hi,number_mld,number_msi,"
    "number_oth,number_pd,number_pmld,number_semh,number_slcn,number_sld,number_spld,number_vi,"
    "number_need_unknown"
)  # the EHCP 2025 release's sen_needs_all_plans.csv, without its percentage columns


def _gias_establishments(path: Path, rows: list[dict[str, str]]) -> Path:
    header = next(csv.reader(io.StringIO((HEADERS / "gias.header.csv").read_text(encoding="utf-8-sig"))))
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[row.get(column, "") for column in header] for row in rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode("cp1252"))
    return path


def _academy(urn: str, la: str, number: str, name: str, trust: str) -> dict[str, str]:
    return {"URN": urn, "LA (code)": la, "EstablishmentNumber": number, "EstablishmentName": name,
            "TypeOfEstablishment (name)": "Academy converter", "EstablishmentStatus (name)": "Open",
            "OpenDate": "01-09-2015", "PhaseOfEducation (name)": "Primary", "Trusts (code)": trust,
            "Trusts (name)": f"Trust {trust}", "TrustSchoolFlag (name)": "Supported by a multi-academy trust",
            "LastChangedDate": "01-09-2023"}  # fmt: skip


def _ehc_needs(path: Path) -> Path:
    """England's plans by need as only ASD (60) and HI (40): a mix no default could be mistaken for."""
    values = dict.fromkeys(NEEDS_HEADER.split(","), "")
    values.update({"time_period": "202425", "time_identifier": "Academic year", "geographic_level": "National",
                   "country_code": "E92000001", "country_name": "England", "breakdown_topic": "All EHC plans",
                   "breakdown": "All EHC plans", "ehc_plans": "100"})  # fmt: skip
    values.update({column: "0" for column in values if column.startswith("number_")})
    values.update({"number_asd": "60", "number_hi": "40"})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(NEEDS_HEADER + "\n" + ",".join(values.values()) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Context:
    """The sample census, a GIAS extract with one trust and England's need mix: loaded once, only read."""
    folder = tmp_path_factory.mktemp("synth")
    context = Context.from_settings(Settings(home=folder / "home"))
    ensure_schema(context.warehouse)
    files = [
        CENSUS,
        _gias_establishments(folder / "in" / "edubasealldata20230901.csv", [
            _academy("100000", "201", "3614", "Aldgate & Tower Academy", TRUST),
            _academy("100092", "202", "7137", "Camden Special Academy", TRUST),
            _academy("112378", "943", "4011", "Lakes Academy", "5003"),
        ]),
        _ehc_needs(folder / "in" / "sen_needs_all_plans.csv"),
    ]  # fmt: skip
    for path in files:
        outcome = ingest_path(path, None, context)
        assert outcome.status == "loaded", outcome.message
    return context


def _published(context: Context, urns: list[str]) -> dict[tuple[str, str], tuple[int, int, int]]:
    rows = ledger.read_table(context.warehouse, "fct_school_census", "academic_year = '2023/24'")
    rows = rows.filter(pl.col("urn").is_in(urns) & (pl.col("total_pupils") > 0))
    return {(r["la_code"], r["estab"]): (r["total_pupils"], r["ehc_plan"], r["sen_support"])
            for r in rows.iter_rows(named=True)}  # fmt: skip


def _counts(frame: pl.DataFrame) -> dict[tuple[str, str], tuple[int, int, int]]:
    grouped = frame.group_by("LEA", "Estab").agg(
        pl.len(), (pl.col("SENprovision") == "E").sum(), (pl.col("SENprovision") == "K").sum().alias("k")
    )
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in grouped.rows()}


def _csv(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


def _synth(context: Context, out: Path, **kw: Any) -> list[Path]:
    options: dict[str, Any] = {
        "urns": URNS,
        "academic_year": "2023/24",
        "term": "spring",
        "file_format": "csv",
        "seed": 5,
    } | kw
    return generate_census(context.warehouse, out_dir=out, **options).paths


def test_one_csv_per_school_with_the_published_counts(loaded: Context, tmp_path: Path) -> None:
    paths = _synth(loaded, tmp_path)

    assert sorted(p.name for p in paths) == [
        f"{laestab}_synthetic_SPR_2023-24.csv" for laestab in ("2013614", "2027137", "9426097", "9434011")
    ]
    assert sorted(tmp_path.iterdir()) == sorted(paths)  # no .partial left, no file for the empty school
    frames = [_csv(p) for p in paths]
    assert all(f.columns == list(PUPIL_COLUMNS) for f in frames)
    assert _counts(pl.concat(frames)) == _published(loaded, URNS)


def test_an_xml_return_reads_back_as_the_csv_of_the_same_school_and_seed(loaded: Context, tmp_path: Path) -> None:
    csv_paths = _synth(loaded, tmp_path / "csv")
    xml_paths = _synth(loaded, tmp_path / "xml", file_format="xml")

    assert [p.with_suffix("").name for p in xml_paths] == [p.with_suffix("").name for p in csv_paths]
    for csv_path, xml_path in zip(csv_paths, xml_paths, strict=True):
        from_xml = read_pupil_xml(xml_path)
        assert from_xml[SOURCE_ROW].to_list() == list(range(1, from_xml.height + 1))
        assert from_xml.drop(SOURCE_ROW).equals(_csv(csv_path)), xml_path.name
    independent = read_pupil_xml(xml_paths[2])
    assert independent["FSMeligible"].is_null().all() and independent.height == 5  # no FSM count: no element
    text = xml_paths[0].read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<SchoolCensus>')
    assert "<SchoolName>Aldgate &amp; Tower Academy</SchoolName>" in text  # the register's name, escaped


def test_one_combined_csv_holds_every_selected_school(loaded: Context, tmp_path: Path) -> None:
    per_school = pl.concat([_csv(p) for p in _synth(loaded, tmp_path / "each")])
    (combined,) = _synth(loaded, tmp_path / "all", combined=True)

    assert combined.name == "pupil_census_schools_synthetic_SPR_2023-24.csv"
    assert _csv(combined).equals(per_school)


def test_a_trust_is_its_schools_on_the_census_day(loaded: Context, tmp_path: Path) -> None:
    summary = generate_census(loaded.warehouse, trust_id=TRUST, academic_year="2023/24", term="spring",
                              file_format="csv", seed=5, out_dir=tmp_path)  # fmt: skip

    assert [p.name for p in summary.paths] == ["2013614_synthetic_SPR_2023-24.csv", "2027137_synthetic_SPR_2023-24.csv"]
    assert summary.schools == 2 and summary.pupils == 244 + 30
    with pytest.raises(SynthError, match="trust 9999 has no schools on 2024-01-18"):
        _synth(loaded, tmp_path, urns=None, trust_id="9999")


@pytest.mark.postgres
def test_a_trust_on_postgresql(postgres_database: str, tmp_path: Path) -> None:
    """The census-day filter on dim_school is SQL text: it must hold on PostgreSQL's typed dates too."""
    _reset_postgres(postgres_database)
    context = Context.from_settings(Settings(home=tmp_path / "home", warehouse_url=postgres_database))
    ensure_schema(context.warehouse)
    gias = [_academy("100000", "201", "3614", "Aldgate & Tower Academy", TRUST)]
    for path in (CENSUS, _gias_establishments(tmp_path / "in" / "edubasealldata20230901.csv", gias)):
        assert ingest_path(path, None, context).status == "loaded"

    summary = generate_census(context.warehouse, trust_id=TRUST, academic_year="2023/24", term="spring",
                              file_format="xml", seed=5, out_dir=tmp_path / "out")  # fmt: skip

    assert [p.name for p in summary.paths] == ["2013614_synthetic_SPR_2023-24.xml"] and summary.pupils == 244
    assert "<SchoolName>Aldgate &amp; Tower Academy</SchoolName>" in summary.paths[0].read_text(encoding="utf-8")
    assert summary.need_mix.startswith("committed default")


def test_the_need_mix_comes_from_the_warehouse_when_loaded(loaded: Context, context: Context) -> None:
    mix, source = need_mix_from(loaded.warehouse)
    default, default_source = need_mix_from(context.warehouse)  # nothing loaded

    assert dict(mix.rows()) == {"ASD": 60.0, "HI": 40.0}  # zero needs and 'unknown' left out
    assert source == "fct_la_ehcp, England, January 2025"
    assert default.equals(DEFAULT_NEED_MIX) and default_source.startswith("committed default")


def test_generated_needs_follow_the_loaded_mix(loaded: Context, tmp_path: Path) -> None:
    pupils = pl.concat([_csv(p) for p in _synth(loaded, tmp_path)]).filter(pl.col("SENprovision") != "N")

    assert set(pupils["SENtype1"]) == {"ASD", "HI"}
    assert set(pupils["SENtype2"].drop_nulls()) <= {"ASD", "HI"}


def test_nothing_to_generate_from_is_a_clear_error(loaded: Context, context: Context, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(SynthError, match=r"no published school census for 2023/24 is loaded \(years loaded: none\)"):
        _synth(context, out)
    with pytest.raises(SynthError, match=r"no published school census for 2022/23 is loaded \(years loaded: 2023/24\)"):
        _synth(loaded, out, academic_year="2022-23")
    with pytest.raises(SynthError, match="no published 2023/24 census for URN\\(s\\) 999999"):
        _synth(loaded, out, urns=["100000", "999999"])
    with pytest.raises(ValueError, match="combined file is CSV only"):
        _synth(loaded, out, file_format="xml", combined=True)
    assert not out.exists()  # nothing written, not even the folder


def test_cli_writes_and_says_what(
    loaded: Context, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SENDFLOW_HOME", str(loaded.settings.home))
    monkeypatch.delenv("SENDFLOW_WAREHOUSE_URL", raising=False)
    out = tmp_path / "out"
    argv = ["synth", "census", "--urns", ",".join(URNS), "--academic-year", "2023-24", "--term", "Spring",
            "--format", "xml", "--seed", "5", "--out", str(out)]  # fmt: skip

    assert main(argv) == 0

    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[:4] == [
        str(out / f"{laestab}_synthetic_SPR_2023-24.xml") for laestab in ("2013614", "2027137", "9426097", "9434011")
    ]
    assert lines[4].startswith("wrote 4 XML file(s): 4 school(s), 368 pupil(s), 2023/24 spring, seed 5")
    assert lines[5] == "no pupils on roll at 1 school(s): 150258"
    assert main([*argv[:2], "--urns", "999999", *argv[4:]]) == 1
    assert "no published 2023/24 census for URN(s) 999999" in capsys.readouterr().err
    assert main([*argv, "--combined"]) == 2
    for usage in (argv[:2] + argv[4:], [*argv, "--national"], [*argv[:3], "10000x", *argv[4:]]):
        with pytest.raises(SystemExit) as exit_info:
            main(usage)
        assert exit_info.value.code == 2


# The reader on its own.


HEADER = (
    "<Header><CollectionDetails><Term>SPR</Term><ReferenceDate>2024-01-18</ReferenceDate></CollectionDetails>"
    "<Source><LEA>201</LEA><Estab>3614</Estab></Source></Header>"
)


def _return(pupils: str, root: str = "SchoolCensus", header: bool = True) -> str:
    head = HEADER if header else ""
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{head}<Pupils>{pupils}</Pupils></{root}>\n'


def _file(tmp_path: Path, text: str, name: str = "return.xml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_sen_types_go_by_rank_and_absent_items_are_null(tmp_path: Path) -> None:
    pupils = (
        "<PupilOnRoll><UPN>A1</UPN><Sex>F</Sex><SENprovision>K</SENprovision><SENtypes>"
        "<SENtype><SENtypeRank>2</SENtypeRank><SENtype>HI</SENtype></SENtype>"
        "<SENtype><SENtypeRank>1</SENtypeRank><SENtype>SLCN</SENtype></SENtype></SENtypes></PupilOnRoll>"
        "<PupilOnRoll><UPN> B2 </UPN><Surname>O'Brien &amp; Zoë</Surname></PupilOnRoll>"
    )
    frame = read_pupil_xml(_file(tmp_path, _return(pupils)))

    assert frame.columns == [*COLUMNS, SOURCE_ROW]
    assert frame.schema[SOURCE_ROW] == pl.Int64 and frame.drop(SOURCE_ROW).dtypes == [pl.String] * len(COLUMNS)
    first, second = frame.rows(named=True)
    assert (first["SENtype1"], first["SENtype2"], first["DOB"]) == ("SLCN", "HI", None)
    assert (first["LEA"], first["Estab"], first["Term"], first["ReferenceDate"]) == ("201", "3614", "SPR", "2024-01-18")
    assert (second["UPN"], second["Surname"], second["SENtype1"]) == (" B2 ", "O'Brien & Zoë", None)
    assert frame[SOURCE_ROW].to_list() == [1, 2]


def test_a_return_without_its_header_leaves_the_header_items_null(tmp_path: Path) -> None:
    frame = read_pupil_xml(_file(tmp_path, _return("<PupilOnRoll><UPN>A1</UPN></PupilOnRoll>", header=False)))

    assert frame.select("LEA", "Estab", "Term", "ReferenceDate").row(0) == (None, None, None, None)


def test_other_xml_an_empty_return_and_broken_xml_are_rejected_naming_the_file(tmp_path: Path) -> None:
    cases = {
        "ctf.xml": (_return("<PupilOnRoll/>", root="CTfile"),
                    "ctf.xml: the XML's root element is CTfile, not SchoolCensus"),
        "empty.xml": (_return(""), "empty.xml: a school census return with no PupilOnRoll elements"),
        "cut.xml": (_return("<PupilOnRoll><UPN>A1</UPN>")[:-30], "cut.xml: not well-formed XML at line 2"),
        "bad.xml": ("<SchoolCensus>\n<Pupils>\n<PupilOnRoll><UPN>A&1</UPN></PupilOnRoll>",
                    "bad.xml: not well-formed XML at line 3, column 21: not well-formed (invalid token)"),
    }  # fmt: skip
    for name, (text, message) in cases.items():
        with pytest.raises(Rejection) as rejected:
            read_pupil_xml(_file(tmp_path, text, name))
        assert str(rejected.value).startswith(message), str(rejected.value)


def test_looks_like_xml_looks_at_the_content_not_the_name() -> None:
    # The detector read_table and read_head use, on the head they have read (a file's name never enters it).
    assert looks_like_xml(b"  \n<SchoolCensus/>")
    assert looks_like_xml(codecs.BOM_UTF8 + b"<SchoolCensus/>")
    assert looks_like_xml(codecs.BOM_UTF16_LE + "<SchoolCensus/>".encode("utf-16-le"))
    assert looks_like_xml(codecs.BOM_UTF16_BE + "\r\n<SchoolCensus/>".encode("utf-16-be"))
    assert not looks_like_xml(b"LEA,Estab\n201,3614\n")
    assert not looks_like_xml(b"")
    assert not looks_like_xml(b"\n\xff<SchoolCensus/>")  # a stray byte before the '<' is not markup
    assert not looks_like_xml(b" " * 4096 + b"<SchoolCensus/>")  # only the head is looked at
