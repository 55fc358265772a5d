"""Every hostile copy of every dataset's sound file, through the production path, to the outcome it must get.

One warehouse for the module: the sound files are loaded first (the pupil return needs the register's
schools), then each copy is offered in turn. A copy replaces its base's partition, so each is judged by its
own outcome, against what its base gave. Checks run on the Polars engine (settings.gx_max_rows=0): the two
engines are held to one answer by tests/expectations/test_engines.py, and GX would make the corpus minutes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import SecretStr

from sendflow.core.settings import Settings
from sendflow.core.vocabulary import LoadStatus
from sendflow.loading.file_load import Context, ingest_path
from sendflow.registry.datasets import BY_NAME, DATASETS
from sendflow.synthetic.writers import generate_census
from sendflow.warehouse import ledger
from sendflow.warehouse.schema import ensure_schema
from tests.conftest import INVENTED_TRUST_ID
from tests.hostile.cases import (
    BASES,
    FAMILIES,
    NOT_CSV,
    PUPIL_RETURN,
    Base,
    Expected,
    Family,
    Sound,
    Text,
    as_text,
)

Corpus = tuple[Context, Path, dict[str, Sound], dict[str, Text]]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    home = tmp_path_factory.mktemp("hostile")
    settings = Settings(home=home, pupil_key=SecretStr("hostile-corpus-key"), gx_max_rows=0)
    context = Context.from_settings(settings)
    ensure_schema(context.warehouse)
    sounds: dict[str, Sound] = {}
    texts: dict[str, Text] = {}
    for base in BASES:
        if base.dataset == "pupil_census":
            made = generate_census(
                context.warehouse, trust_id=INVENTED_TRUST_ID, academic_year="2023/24", term="spring",
                file_format="csv", seed=7, out_dir=home / "returns",
            ).paths[0]  # fmt: skip
            shutil.copyfile(made, home / PUPIL_RETURN)
        source = base.make(home)
        offered = home / "sound" / base.name
        offered.parent.mkdir(exist_ok=True)
        shutil.copyfile(source, offered)
        outcome = ingest_path(offered, None, context)
        assert outcome.status is LoadStatus.LOADED and outcome.dataset == base.dataset, outcome.line()
        sounds[base.dataset] = Sound(outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined)
        texts[base.dataset] = as_text(source.read_bytes(), base)
    return context, home, sounds, texts


def test_every_dataset_has_a_sound_file_in_the_corpus_or_a_stated_reason() -> None:
    covered = {base.dataset for base in BASES}
    for dataset in DATASETS:
        assert dataset.name in covered or dataset.name in NOT_CSV, f"{dataset.name} has no hostile corpus"


@pytest.mark.parametrize("base", BASES, ids=lambda b: b.dataset)
def test_the_column_made_hostile_is_one_the_layout_reads(base: Base) -> None:
    assert any(base.text_column in layout.columns for layout in BY_NAME[base.dataset].layouts)


@pytest.mark.parametrize(
    ("base", "family"),
    [(base, family) for base in BASES for family in FAMILIES],
    ids=[f"{base.dataset}-{family.name}" for base in BASES for family in FAMILIES],
)
def test_a_hostile_copy_gets_its_stated_outcome(base: Base, family: Family, corpus: Corpus) -> None:
    context, home, sounds, texts = corpus
    text, sound = texts[base.dataset], sounds[base.dataset]
    path = home / family.name / base.name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(family.hostile(text, base))
    expected = family.expected(text, base)

    outcome = ingest_path(path, None, context)

    status = expected.status
    if expected.quarantined_check is not None and not _within_threshold(sound, expected, context):
        status = LoadStatus.REJECTED  # one row is too large a share of a small file: refused, the row named
        assert f"row {text.row_line}: {expected.quarantined_check}" in outcome.message, outcome.line()
    assert outcome.status is status, outcome.line()
    for words in expected.message_has:
        assert words in outcome.message, outcome.line()
    if expected.on_line_of:
        assert any(f"line {line} " in outcome.message for line in expected.on_line_of), outcome.line()
    if expected.quarantined_check is not None:
        held = ledger.query(
            context.warehouse,
            f"SELECT source_row_number, reasons FROM etl_quarantine WHERE load_id = {context.warehouse.param()}",
            [outcome.load_id],
        )
        reasons = dict(held.rows())
        assert expected.quarantined_check in reasons.get(text.row_line, ""), (text.row_line, reasons)
        assert len(reasons) == sound.rows_quarantined + expected.extra_quarantined, outcome.line()
        assert dict(outcome.checks_failed)[expected.quarantined_check] == 1
    if BY_NAME[base.dataset].personal:  # nothing a pupil row holds is repeated in what the load says
        shown = outcome.line() + "".join(p.read_text() for p in context.settings.landing_dir.rglob("*.reason.txt"))
        for value in _personal_values(text, base):
            assert value not in shown, f"{value!r} of a pupil row is shown"
    if expected.same_rows_as_sound:
        assert (outcome.rows_loaded, outcome.rows_quarantined) == (sound.rows_loaded, sound.rows_quarantined)
    if outcome.status is LoadStatus.REJECTED:
        kept = list((context.settings.landing_dir / "rejected").glob(f"*_{base.name}"))
        assert kept and all(p.with_name(p.name + ".reason.txt").exists() for p in kept)


def _within_threshold(sound: Sound, expected: Expected, context: Context) -> bool:
    held = sound.rows_quarantined + expected.extra_quarantined
    return held / sound.rows_read <= context.settings.quarantine_threshold


def _personal_values(text: Text, base: Base) -> list[str]:
    """The personal cells (UPN, names, date of birth, postcode) of the hostile row and the rows beside it."""
    layouts = BY_NAME[base.dataset].layouts
    personal = {column for layout in layouts for column in layout.personal}
    positions = [i for i, column in enumerate(text.header) if column in personal]
    rows = range(max(text.header_index + 1, text.row_index - 1), min(len(text.lines), text.row_index + 2))
    return [value for index in rows for i in positions if len(value := text.cells(index)[i]) >= 4]
