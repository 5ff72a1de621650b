"""The ``sop`` command: validate, compile, list and schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rules.loader import load_catalog
from sop_platform.cli import main

REPO = Path(__file__).resolve().parent.parent.parent
DEFINITIONS = REPO / "sop_definitions"
CORPUS = REPO / "tests" / "sops" / "invalid"
LOCATED = re.compile(r"^(?P<file>.+\.yaml):(?P<line>\d+):(?P<col>\d+): \S")


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every command from the repository root, on the real definitions."""
    monkeypatch.delenv("SOP_DEFINITIONS", raising=False)
    monkeypatch.chdir(REPO)


def _real_sops() -> list[tuple[str, str]]:
    catalog = load_catalog([DEFINITIONS])
    assert catalog.problems == [], "\n".join(map(str, catalog.problems))
    return sorted(catalog.sops)


def test_validate_real_definitions(capsys: pytest.CaptureFixture[str]) -> None:
    sops = _real_sops()
    assert ("upik-pengaduan", "2023-09-18") in sops
    assert main(["validate"]) == 0
    out, err = capsys.readouterr()
    ok_lines = [line for line in out.splitlines() if line.startswith("ok ")]
    assert len(ok_lines) == len(sops)
    for (sop_id, version), line in zip(sops, ok_lines, strict=True):
        assert f" {sop_id} {version} " in line
    assert out.splitlines()[-1].startswith(f"{len(sops)} SOPs in ")
    assert err == ""


def test_validate_named_folder(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(DEFINITIONS / "yogyakarta")]) == 0
    out, _ = capsys.readouterr()
    assert any(
        line.startswith("ok  upik-pengaduan 2023-09-18 (yogyakarta)") for line in out.splitlines()
    )


def test_validate_one_file_finds_its_region(capsys: pytest.CaptureFixture[str]) -> None:
    path = DEFINITIONS / "yogyakarta" / "upik-pengaduan.yaml"
    assert main(["validate", str(path)]) == 0
    out, _ = capsys.readouterr()
    ok_lines = [line for line in out.splitlines() if line.startswith("ok ")]
    assert len(ok_lines) == 1
    assert ok_lines[0].startswith("ok  upik-pengaduan 2023-09-18 (yogyakarta)")
    assert ok_lines[0].endswith(str(path))


@pytest.mark.parametrize("name", ["unknown-role.yaml", "never-ends.yaml", "yaml-syntax-error.yaml"])
def test_validate_invalid_file(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS / name
    assert main(["validate", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[-1].endswith("found")
    located = [LOCATED.match(line) for line in lines[:-1]]
    assert located
    assert all(located), lines
    assert {m.group("file") for m in located if m} == {str(path)}
    count = len(located)
    assert lines[-1] == f"{count} problem{'s' if count != 1 else ''} found"


def test_validate_problem_lines_are_sorted(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(CORPUS / "yaml-boolean-trap.yaml")]) == 1
    _, err = capsys.readouterr()
    assert err.splitlines()[:2] == [
        f"{CORPUS / 'yaml-boolean-trap.yaml'}:15:15: 'yes' is read by YAML as a true/false "
        'value, not as text (write "yes" in quotes, or use ya/tidak, or true/false)',
        f"{CORPUS / 'yaml-boolean-trap.yaml'}:15:20: 'no' is read by YAML as a true/false "
        'value, not as text (write "no" in quotes, or use ya/tidak, or true/false)',
    ]


def test_validate_whole_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(CORPUS)]) == 1
    _, err = capsys.readouterr()
    files = {m.group("file") for m in map(LOCATED.match, err.splitlines()) if m}
    fixtures = {p for p in CORPUS.rglob("*.yaml") if p.read_text("utf-8").find("# expect:") >= 0}
    assert {str(p) for p in fixtures} <= files


def test_validate_missing_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "tidak-ada.yaml"]) == 1
    _, err = capsys.readouterr()
    assert err.startswith("tidak-ada.yaml:1:1: no such file or directory")


def test_compile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", "upik-pengaduan"]) == 0
    out, _ = capsys.readouterr()
    compiled = json.loads(out)
    assert isinstance(compiled, dict)
    assert len(compiled) == 1
    (name, rules), *_ = compiled.items()
    assert name.startswith("upik_pengaduan__2023_09_18__")
    assert isinstance(rules, dict)
    assert "verifikasi.terima.go" in rules
    assert "any.step" in rules
    assert all({"all", "pri", "run"} <= set(rule) for rule in rules.values())


def test_compile_is_stable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", "upik-pengaduan", "--version", "2023-09-18"]) == 0
    first, _ = capsys.readouterr()
    assert main(["compile", "upik-pengaduan"]) == 0
    second, _ = capsys.readouterr()
    assert first == second


def test_compile_unknown_sop(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", "tidak-ada"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("unknown SOP 'tidak-ada'; known: ")
    known = err.strip().split("known: ", 1)[1].split(", ")
    assert known == sorted({sop_id for sop_id, _ in _real_sops()})
    assert "upik-pengaduan" in known


def test_compile_unknown_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", "upik-pengaduan", "--version", "1999-01-01"]) == 1
    _, err = capsys.readouterr()
    assert "unknown SOP 'upik-pengaduan'" in err


def test_compile_refuses_invalid_definitions(capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS / "unknown-role.yaml"
    assert main(["compile", "aduan-pohon-tumbang", "--paths", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{path}:19:9: unknown role 'admn'" in err


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out, _ = capsys.readouterr()
    assert "yogyakarta: Pemerintah Kota Yogyakarta" in out
    assert "  upik-pengaduan 2023-09-18: " in out
    for sop_id, version in _real_sops():
        assert f"  {sop_id} {version}: " in out


def test_list_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", str(CORPUS / "unknown-step.yaml")]) == 1
    _, err = capsys.readouterr()
    assert "unknown step 'selesia'" in err


def test_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    out, _ = capsys.readouterr()
    schema = json.loads(out)
    assert "$defs" in schema
    assert {"Sop", "Region", "Step", "Action"} <= set(schema["$defs"])
    assert schema["oneOf"] == [{"$ref": "#/$defs/Sop"}, {"$ref": "#/$defs/Region"}]


def test_schema_to_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "sop.schema.json"
    assert main(["schema", "--output", str(target)]) == 0
    out, _ = capsys.readouterr()
    assert out == ""
    assert "$defs" in json.loads(target.read_text(encoding="utf-8"))


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "usage: sop" in capsys.readouterr().err
