"""The demo trust's report as a browser shows and prints it: Debian's Chromium, headless.

Chromium renders the page to a PNG screenshot and a PDF, and dumps the DOM after loading a copy of the page
with a one-line probe that records each chart image as the browser decoded it (the page itself has no
script). Every chart must have decoded, and be more than a blank rectangle; the numbers in the rendered DOM
must equal a direct SQL query of the warehouse. Skips without Chromium unless REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from sendflow.loading.file_load import Context
from sendflow.reports.write import write_trust_report
from tests.conftest import INVENTED_TRUST_ID
from tests.reports.pages import assert_page_matches_warehouse, page_cells

pytestmark = pytest.mark.browser

YEAR = "2023/24"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
]  # fmt: skip
PROBE = (
    "<script>addEventListener('load', () => document.body.setAttribute('data-probe', JSON.stringify("
    "[...document.querySelectorAll('figure.chart img')].map(i => [i.closest('figure').dataset.chart, i.complete, "
    "i.naturalWidth, i.naturalHeight]))));</script>"
)


@pytest.fixture(scope="session")  # session-scoped so it is asked before the warehouse is built
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("REQUIRE_BROWSER", "") not in ("", "0", "false"):
            pytest.fail("REQUIRE_BROWSER=1 but no chromium is installed")
        pytest.skip("chromium is not installed")
    return found


def run(chromium: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess[bytes]:
    """A fresh profile each time, and no network: the page must need none."""
    result = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *arguments], capture_output=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result


def blank(image: Image.Image) -> bool:
    """True when (almost) every pixel is one colour."""
    small = image.convert("RGB").resize((200, max(1, 200 * image.height // image.width)))
    colours = small.getcolors(maxcolors=200 * 200)
    assert colours is not None  # None only past maxcolors, which is every pixel
    most = max(count for count, _ in colours)
    return len(colours) < 3 or most > 0.995 * small.width * small.height


def test_the_demo_report_renders_and_prints_with_every_chart_and_the_warehouses_numbers(
    chromium: str, report_context: Context, tmp_path: Path
) -> None:
    files = write_trust_report(
        report_context.warehouse, INVENTED_TRUST_ID, YEAR, tmp_path / "out", report_context.settings.report_options
    )
    page = files.html.read_text(encoding="utf-8")
    charts = re.findall(r'data-chart="([^"]+)"', page)
    assert len(charts) == 8

    screenshot, pdf = tmp_path / "report.png", tmp_path / "report.pdf"
    run(chromium, tmp_path / "profile-1", "--window-size=1280,2400", f"--screenshot={screenshot}", files.html.as_uri())
    run(chromium, tmp_path / "profile-2", "--no-pdf-header-footer", f"--print-to-pdf={pdf}", files.html.as_uri())
    probed = files.html.with_name("probed.html")
    probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = run(chromium, tmp_path / "profile-3", "--virtual-time-budget=10000", "--dump-dom", probed.as_uri())
    rendered = dom.stdout.decode("utf-8")

    shot = Image.open(screenshot)
    assert shot.size == (1280, 2400) and not blank(shot)
    assert pdf.read_bytes().startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    assert 5 <= pages <= 40, pages

    match = re.search(r'data-probe="([^"]*)"', rendered)
    assert match is not None, "the probe left no data-probe attribute"
    probe = json.loads(match.group(1).replace("&quot;", '"'))
    assert [entry[0] for entry in probe] == charts
    for chart, complete, width, height in probe:
        assert complete and width > 600 and height > 150, (chart, width, height)  # decoded by the browser
    for chart, data in re.findall(r'data-chart="([^"]+)".*?<img src="data:image/png;base64,([^"]+)"', page, re.S):
        assert not blank(Image.open(io.BytesIO(base64.b64decode(data)))), f"chart {chart} is blank"

    assert_page_matches_warehouse(
        page_cells(rendered), report_context.warehouse, INVENTED_TRUST_ID, YEAR,
        report_context.settings.report_suppression_threshold,
    )  # fmt: skip
