"""The README's examples do what they show: each marked block's `$ ` commands are run as a user would type
them, in a fresh folder with a fresh home, and what they print is compared with the lines the README shows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT

pytestmark = [pytest.mark.prefect]

MARKER = "<!-- checked by tests/cli/test_readme.py -->"
BLOCK = re.compile(re.escape(MARKER) + r"\s*```[a-z]*\n(.*?)```", re.DOTALL)


def _examples() -> list[str]:
    found = BLOCK.findall((PROJECT / "README.md").read_text(encoding="utf-8"))
    assert found, f"no block marked {MARKER} in the README"
    return found


def _run(block: str, folder: Path) -> tuple[str, str]:
    """The block's commands, one shell each, in order; what they printed, and what the README says they print."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SENDFLOW_"))}
    environment.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}",
        SENDFLOW_HOME=str(folder / "var"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    printed, shown = [], []
    for line in block.splitlines():
        if line.startswith("$ "):
            done = subprocess.run(
                ["bash", "-c", line[2:]], cwd=folder, env=environment, capture_output=True, text=True, timeout=300
            )
            printed.append(done.stdout)
        else:
            shown.append(line + "\n")
    return "".join(printed), "".join(shown)


@pytest.mark.parametrize("number", range(len(_examples())))
def test_the_readme_example_prints_what_the_readme_shows(number: int, tmp_path: Path) -> None:
    (tmp_path / "data").symlink_to(PROJECT / "data")  # the README's paths are the project's
    printed, shown = _run(_examples()[number], tmp_path)
    assert printed == shown
