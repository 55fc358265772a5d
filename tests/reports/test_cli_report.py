"""`sendflow report`: files written and their paths printed; 1 for an unknown trust or nothing loaded; 2 usage."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendflow.cli.main import main
from sendflow.loading.file_load import Context


def test_report_writes_the_page_and_prints_its_path(
    report_context: Context, sendflow_env: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"

    assert main(["report", "--trust", "900001", "--academic-year", "2018-19", "--out", str(out)]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == str(out / "trust-900001-2018-19.html")
    assert (out / "trust-900001-2018-19.html").is_file() and (out / "trust-900001-2018-19.xlsx").is_file()
    assert "5 CSV file(s)" in lines[1]  # 2018/19 has no pupil-level returns: no pupil tables (the two peer tables)


def test_unknown_trust_or_nothing_loaded_exits_1_with_a_reason(
    report_context: Context, sendflow_env: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--trust", "424242", "--out", str(tmp_path)]) == 1
    assert "unknown trust '424242'" in capsys.readouterr().err
    assert main(["report", "--trust", "900001", "--academic-year", "2021/22", "--out", str(tmp_path)]) == 1
    assert "nothing is loaded for trust 900001 in 2021/22" in capsys.readouterr().err


def test_all_trusts_writes_an_index(
    report_context: Context, sendflow_env: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--all-trusts", "--out", str(tmp_path / "all")]) == 0
    assert f"index: {tmp_path / 'all' / 'index.html'}" in capsys.readouterr().out
    assert main(["report", "--all-trusts", "--academic-year", "2020/21", "--out", str(tmp_path / "none")]) == 1
    assert "no trust has a school census loaded in 2020/21" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--out", "x"],  # which trust?
        ["report", "--trust", "900001"],  # where?
        ["report", "--trust", "900001", "--all-trusts", "--out", "x"],
        ["report", "--trust", "900001", "--academic-year", "2023-25", "--out", "x"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], sendflow_env: object) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
