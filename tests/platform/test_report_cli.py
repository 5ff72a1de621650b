"""``sop report``: the same filters and formats as the page, on the hand-computed history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from rules.evaluator import Evaluator
from rules.loader import Catalog
from sop_platform.cli import main
from sop_platform.db import make_engine
from sop_platform.migrate import upgrade
from tests.conftest import DEFINITIONS
from tests.platform.reports_history import build_history, uji_registry


@pytest.fixture
def uji_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, evaluator: Evaluator) -> Path:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    build_history(engine, uji_registry(engine, tmp_path / "defs", evaluator))
    engine.dispose()
    monkeypatch.setenv("SOP_DATABASE_URL", url)
    monkeypatch.setenv("SOP_DEFINITIONS", str(tmp_path / "defs"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


ARGS = ["report", "--region", "uji", "--sop", "uji-layanan", "--month", "2025-12"]


def test_json_report_carries_the_hand_computed_figures(
    uji_cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*ARGS, "--min-cases", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    periksa = out["steps"][0]
    assert (periksa["visits"], periksa["median_minutes"], periksa["p90_minutes"]) == (
        5,
        120.0,
        1020.0,
    )
    assert out["months"][0]["ranked"][0]["unit"] == "utara"
    assert out["since"] == "2025-12-01" and out["until"] == "2025-12-31"


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
def test_every_format_is_written_to_a_file(uji_cli: Path, fmt: str) -> None:
    target = uji_cli / f"laporan.{fmt}"
    assert main([*ARGS, "--unit", "utara", "--format", fmt, "-o", str(target)]) == 0
    data = target.read_bytes()
    if fmt == "csv":
        assert (
            len(data.decode().strip().splitlines()) == 1 + 9
        )  # utara: A, B and E, three visits each
    elif fmt == "xlsx":
        assert "Kunjungan" in load_workbook(target).sheetnames
    else:
        assert data.startswith(b"%PDF-")


def test_bad_options_exit_2_with_the_reason(
    uji_cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*ARGS, "--unit", "timur"]) == 2
    assert "unknown unit 'timur'" in capsys.readouterr().err
    assert main(["report", "--region", "uji", "--sop", "uji-layanan"]) == 2
    assert "--month" in capsys.readouterr().err
    assert main([*ARGS[:-2], "--month", "2025-13"]) == 2


def test_every_seed_procedure_reports_in_every_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog: Catalog
) -> None:
    monkeypatch.setenv("SOP_DATABASE_URL", f"sqlite:///{tmp_path / 'seed.db'}")
    monkeypatch.setenv("SOP_DEFINITIONS", str(DEFINITIONS))
    monkeypatch.chdir(tmp_path)
    assert main(["publish"]) == 0
    for sop_id, loaded in catalog.latest().items():
        for fmt in ("csv", "xlsx", "pdf", "json"):
            target = tmp_path / f"{sop_id}.{fmt}"
            code = main(
                [
                    "report",
                    "--region",
                    loaded.sop.region,
                    "--sop",
                    sop_id,
                    "--year",
                    "2025",
                    "--format",
                    fmt,
                    "-o",
                    str(target),
                ]
            )
            assert code == 0, (sop_id, fmt)
            assert target.stat().st_size > 0
    bantul = json.loads((tmp_path / "pengaduan-terintegrasi.json").read_text())
    assert bantul["whole_case"]["total_limit"] == "1060 menit"
    assert bantul["whole_case"]["total_minutes"] == 1060.0
