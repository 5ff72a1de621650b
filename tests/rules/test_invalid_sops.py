"""The corpus of invalid SOP files: each file pins exactly the problems the validator reports.

Every file in ``tests/sops/invalid/`` (and its sub-folders) starts with comment lines::

    # expect: <line>: <fragment of the message or hint>

one per expected problem. A file is loaded together with the ``region.yaml`` of its folder and
with the files of that folder that carry no ``# expect:`` lines (the valid half of a pair, such as
``same_version/pengaduan-asli.yaml``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from rules.loader import load_catalog
from rules.source import Problem

CORPUS = Path(__file__).resolve().parent.parent / "sops" / "invalid"
_EXPECT = re.compile(r"^#\s*expect:\s*(\d+):\s*(.+?)\s*$")


@dataclass(frozen=True)
class Expect:
    line: int
    fragment: str


def expectations(path: Path) -> list[Expect]:
    """The ``# expect:`` lines of the comment block at the top of ``path``."""
    out: list[Expect] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.startswith("#"):
            break
        m = _EXPECT.match(raw)
        if m:
            out.append(Expect(int(m.group(1)), m.group(2)))
    return out


def _all_yaml() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*.yaml") if p.name != "region.yaml")


def corpus_files() -> list[Path]:
    """The corpus files that pin problems (files without ``# expect:`` are companions)."""
    return [p for p in _all_yaml() if expectations(p)]


def companions(path: Path) -> list[Path]:
    """Valid files of the same folder that ``path`` must be loaded with."""
    return sorted(
        p
        for p in path.parent.glob("*.yaml")
        if p.name != "region.yaml" and p != path and not expectations(p)
    )


def load_with_region(path: Path) -> list[Problem]:
    region = path.parent / "region.yaml"
    catalog = load_catalog([region, *companions(path), path])
    return catalog.problems


def text_of(problem: Problem) -> str:
    return f"{problem.message} ({problem.hint})" if problem.hint else problem.message


def _id(path: Path) -> str:
    return str(path.relative_to(CORPUS))


# Problems about a whole step, action, list of branches or routing list point at the first line
# *inside* that block (the value's start) instead of at the line of its key, when the block is
# written in block style; written in flow style ({...}) the same problem points at the key line.
def _line_params() -> list[object]:
    out: list[object] = []
    for path in corpus_files():
        out.append(pytest.param(path, id=_id(path)))
    return out


# --- the corpus itself ------------------------------------------------------------------------


def test_corpus_is_large_enough() -> None:
    files = corpus_files()
    assert len(files) >= 22
    assert (CORPUS / "same_version" / "pengaduan-revisi.yaml") in files


def test_every_corpus_file_pins_problems() -> None:
    """In the top folder every file is a fixture (no file silently contributes nothing)."""
    top = sorted(p for p in CORPUS.glob("*.yaml") if p.name != "region.yaml")
    assert top
    assert [p for p in top if not expectations(p)] == []


@pytest.mark.parametrize("region", sorted(CORPUS.rglob("region.yaml")), ids=lambda p: _id(p))
def test_region_files_are_valid(region: Path) -> None:
    catalog = load_catalog([region])
    assert catalog.problems == []
    assert len(catalog.regions) == 1


def test_companion_files_are_valid_on_their_own() -> None:
    for path in corpus_files():
        for other in companions(path):
            catalog = load_catalog([path.parent / "region.yaml", other])
            assert catalog.problems == [], other
            assert len(catalog.sops) == 1


@pytest.mark.parametrize("path", corpus_files(), ids=_id)
def test_expect_lines_are_within_the_file(path: Path) -> None:
    n_lines = len(path.read_text(encoding="utf-8").splitlines())
    for exp in expectations(path):
        assert 1 <= exp.line <= n_lines, exp


# --- each fixture ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", corpus_files(), ids=_id)
def test_expected_problems_are_reported(path: Path) -> None:
    """Each expected message is reported for the file, and nothing else is (lines aside)."""
    problems = load_with_region(path)
    others = [p for p in problems if p.file != str(path)]
    assert others == [], "problems reported in other files"
    mine = [p for p in problems if p.file == str(path)]
    expected = expectations(path)
    for exp in expected:
        assert any(exp.fragment in text_of(p) for p in mine), (
            f"no problem mentions {exp.fragment!r}; got:\n" + "\n".join(map(str, mine))
        )
    for p in mine:
        assert any(exp.fragment in text_of(p) for exp in expected), f"unexpected problem: {p}"


@pytest.mark.parametrize("path", _line_params())
def test_problems_are_on_the_expected_lines(path: Path) -> None:
    """Each ``# expect:`` line has its problem on that exact line, and no other line has one."""
    problems = [p for p in load_with_region(path) if p.file == str(path)]
    expected = expectations(path)
    report = "\n".join(map(str, problems))
    for exp in expected:
        on_line = [p for p in problems if p.line == exp.line]
        assert any(exp.fragment in text_of(p) for p in on_line), (
            f"line {exp.line}: no problem mentions {exp.fragment!r}; got:\n{report}"
        )
    lines = {exp.line for exp in expected}
    stray = [p for p in problems if p.line not in lines]
    assert stray == [], f"problems on lines not listed:\n{report}"
    for p in problems:
        assert p.col >= 1
        assert str(p).startswith(f"{path}:{p.line}:{p.col}: {p.message}")


def test_whole_corpus_reports_every_file() -> None:
    """Validated together, the corpus yields problems from every fixture: no early stop."""
    catalog = load_catalog([CORPUS])
    with_problems = {p.file for p in catalog.problems}
    missing = [_id(p) for p in corpus_files() if str(p) not in with_problems]
    assert missing == []
    # The valid halves of pairs and the region files stay clean.
    assert not any(Path(f).name == "region.yaml" for f in with_problems)
    assert str(CORPUS / "same_version" / "pengaduan-asli.yaml") not in with_problems
    assert not catalog.ok
    # Every fixture's own problems are among those of the whole run.
    for path in corpus_files():
        alone = {(p.line, p.col, p.message) for p in load_with_region(path)}
        together = {(p.line, p.col, p.message) for p in catalog.problems if p.file == str(path)}
        assert alone <= together, _id(path)


# --- known bugs, shown directly --------------------------------------------------------------

_STEPS_SOP = """\
sop: contoh-gaya
version: "2024-03-01"
region: contoh
title: Contoh gaya penulisan langkah
submission: {{by: pelapor}}
roles:
  pelapor: {{kind: citizen}}
  admin: {{kind: unit_staff}}
start: verifikasi
steps:
  verifikasi: {{title: Verifikasi, by: admin, actions: {{terima: {{to: selesai}}}}}}
  selesai: {{title: Selesai, status: done}}
{arsip}
"""


def _problems_for(tmp_path: Path, name: str, text: str) -> list[Problem]:
    target = tmp_path / name
    target.write_text(text, encoding="utf-8")
    return load_catalog([CORPUS / "region.yaml", target]).problems


def test_step_problem_on_flow_style_step_points_at_its_key(tmp_path: Path) -> None:
    text = _STEPS_SOP.format(arsip="  arsip: {title: Arsip, status: done}")
    problems = _problems_for(tmp_path, "flow.yaml", text)
    assert [(p.line, p.message) for p in problems] == [
        (13, "step 'arsip' cannot be reached from the start 'verifikasi'")
    ]


def test_step_problem_line_does_not_depend_on_style(tmp_path: Path) -> None:
    # The same unreachable step written in block style, with a comment before its first key:
    # the problem is reported on line 15 (its 'title:'), two lines below the step's name.
    text = _STEPS_SOP.format(
        arsip="  arsip:\n    # tidak dipakai lagi\n    title: Arsip\n    status: done"
    )
    problems = _problems_for(tmp_path, "block.yaml", text)
    assert [(p.line, p.message) for p in problems] == [
        (13, "step 'arsip' cannot be reached from the start 'verifikasi'")
    ]


def test_routing_coverage_message_spells_routing_rules() -> None:
    path = CORPUS / "routing-not-covered.yaml"
    problems = load_with_region(path)
    assert any("the routing rules cover every case" in p.message for p in problems), problems


def test_branches_on_a_narrow_number_range_are_ambiguous(tmp_path: Path) -> None:
    # 'skor > 2.5' and 'skor < 3' both hold for 2.75.
    text = """\
sop: contoh-skor
version: "2024-03-01"
region: contoh
title: Tindak lanjut survei kepuasan
submission: {by: pelapor}
fields:
  skor: {type: number, label: Skor kepuasan, required: true}
roles:
  pelapor: {kind: citizen}
  admin: {kind: unit_staff}
start: evaluasi
steps:
  evaluasi:
    title: Evaluasi skor kepuasan
    by: admin
    actions:
      tindak_lanjut:
        branches:
          - {when: "skor > 2.5", to: selesai}
          - {when: "skor < 3", to: perbaikan}
          - {otherwise: true, to: selesai}
  perbaikan: {title: Rencana perbaikan layanan, by: admin, actions: {ok: {to: selesai}}}
  selesai: {title: Selesai, status: done}
"""
    problems = _problems_for(tmp_path, "skor.yaml", text)
    assert [(p.line, p.message[:10]) for p in problems] == [(20, "ambiguous:")]
