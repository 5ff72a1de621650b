"""Every SOP scenario under sop_definitions/*/scenarios, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from rules.loader import Catalog
from sop_platform.scenarios import ScenarioRunner, scenario_files
from tests.conftest import DEFINITIONS

SCENARIOS = scenario_files([DEFINITIONS])


def test_there_are_scenarios_for_every_seed_sop(catalog: Catalog) -> None:
    import yaml

    covered = {yaml.safe_load(p.read_text(encoding="utf-8"))["sop"] for p in SCENARIOS}
    assert covered == set(catalog.latest())


@pytest.fixture
def runner(db_engine: Engine, catalog: Catalog) -> ScenarioRunner:
    return ScenarioRunner(catalog, db_engine)


@pytest.mark.parametrize(
    "path", SCENARIOS, ids=[f"{p.parent.parent.name}/{p.stem}" for p in SCENARIOS]
)
def test_scenario(runner: ScenarioRunner, path: Path) -> None:
    result = runner.run_file(path)
    assert result.passed, result.failure


def test_a_wrong_expectation_fails_with_file_and_line(
    runner: ScenarioRunner, tmp_path: Path
) -> None:
    scenario = tmp_path / "salah.yaml"
    scenario.write_text(
        "scenario: harapan salah\n"
        "sop: upik-pengaduan\n"
        'start: "2025-11-24 09:00"\n'
        "submit: {channel: jss, text: Lampu jalan mati, anonymous: true,\n"
        "         fields: {kategori: infrastruktur}}\n"
        "steps:\n"
        "  - as: admin_opd\n"
        "    do: terima\n"
        "    expect:\n"
        "      step: pengerjaan\n",
        encoding="utf-8",
    )
    result = runner.run_file(scenario)
    assert not result.passed
    assert f"{scenario}:10: expected step = 'pengerjaan', got 'penerimaan'" in result.failure


def test_an_unexpected_refusal_fails_with_the_engines_reason(
    runner: ScenarioRunner, tmp_path: Path
) -> None:
    scenario = tmp_path / "ditolak.yaml"
    scenario.write_text(
        "scenario: tanpa alasan\n"
        "sop: upik-pengaduan\n"
        'start: "2025-11-24 09:00"\n'
        "submit: {channel: jss, text: Lampu jalan mati, anonymous: true,\n"
        "         fields: {kategori: infrastruktur}}\n"
        "steps:\n"
        "  - as: admin_opd\n"
        "    do: tolak\n",
        encoding="utf-8",
    )
    result = runner.run_file(scenario)
    assert not result.passed
    assert (
        ":8: 'tolak' by admin_opd was refused: Isian wajib belum diisi: Alasan." in result.failure
    )
