"""The located YAML reader: values with their line and column, and the YAML traps it reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.loader import load_catalog
from rules.source import Located, Problem, load_located

SOP_TEXT = """\
# SOP contoh
sop: aduan-jalan
steps:
  verifikasi:
    title: Memverifikasi aduan
    limit: 2 jam
    actions:
      terima: {to: selesai, requires: [alasan, jawaban]}
  selesai:
    status: done
catatan:
  - pertama
  - kedua
"""


def _load(text: str, name: str = "contoh.yaml") -> tuple[Located | None, list[Problem]]:
    return load_located(name, text)


def _ok(text: str) -> Located:
    located, problems = _load(text)
    assert problems == []
    assert located is not None
    return located


def test_reads_plain_values() -> None:
    located = _ok(SOP_TEXT)
    assert located.data == {
        "sop": "aduan-jalan",
        "steps": {
            "verifikasi": {
                "title": "Memverifikasi aduan",
                "limit": "2 jam",
                "actions": {"terima": {"to": "selesai", "requires": ["alasan", "jawaban"]}},
            },
            "selesai": {"status": "done"},
        },
        "catatan": ["pertama", "kedua"],
    }
    assert located.file == "contoh.yaml"
    assert located.text == SOP_TEXT


@pytest.mark.parametrize(
    ("path", "where"),
    [
        (("sop",), (2, 6)),
        (("steps", "verifikasi", "title"), (5, 12)),
        (("steps", "verifikasi", "limit"), (6, 12)),
        (("steps", "verifikasi", "actions", "terima", "to"), (8, 20)),
        (("steps", "verifikasi", "actions", "terima", "requires"), (8, 39)),
        (("steps", "verifikasi", "actions", "terima", "requires", 1), (8, 48)),
        (("steps", "selesai", "status"), (10, 13)),
        (("catatan", 1), (13, 5)),
    ],
)
def test_value_positions(path: tuple[str | int, ...], where: tuple[int, int]) -> None:
    assert _ok(SOP_TEXT).where(path) == where


@pytest.mark.parametrize(
    ("path", "where"),
    [
        (("sop",), (2, 1)),
        (("steps", "verifikasi"), (4, 3)),
        (("steps", "verifikasi", "limit"), (6, 5)),
        (("steps", "verifikasi", "actions", "terima"), (8, 7)),
        (("steps", "verifikasi", "actions", "terima", "requires"), (8, 29)),
    ],
)
def test_key_positions(path: tuple[str | int, ...], where: tuple[int, int]) -> None:
    assert _ok(SOP_TEXT).where(path, key=True) == where


def test_unknown_path_falls_back_to_the_nearest_ancestor() -> None:
    located = _ok(SOP_TEXT)
    assert located.where(("steps", "verifikasi", "limit", "extra")) == (6, 12)
    assert located.where(("steps", "tidak_ada")) == located.where(("steps",))
    assert located.where(("tidak_ada",)) == located.where(())
    assert located.where(()) == (2, 1)  # the top mapping starts at its first key
    # A list item has no key: key=True falls back to the item's own position.
    assert located.where(("catatan", 0), key=True) == (12, 5)


def test_problem_uses_the_position() -> None:
    located = _ok(SOP_TEXT)
    problem = located.problem(
        ("steps", "verifikasi", "limit"), "batas waktu salah", "tulis '2 jam'"
    )
    assert problem == Problem("contoh.yaml", 6, 12, "batas waktu salah", "tulis '2 jam'")
    keyed = located.problem(("steps", "verifikasi", "limit"), "kunci salah", key=True)
    assert (keyed.line, keyed.col) == (6, 5)


def test_problem_text() -> None:
    assert str(Problem("a.yaml", 3, 7, "unknown role 'admn'", "did you mean 'admin'?")) == (
        "a.yaml:3:7: unknown role 'admn' (did you mean 'admin'?)"
    )
    assert str(Problem("a.yaml", 1, 1, "the file is empty")) == "a.yaml:1:1: the file is empty"


# --- duplicate keys ------------------------------------------------------------------------


def test_duplicate_key_names_the_first_line() -> None:
    text = """\
steps:
  verifikasi:
    title: Memverifikasi aduan
    limit: 2 jam
    by: admin
    limit: 4 jam
"""
    located, problems = _load(text)
    assert [(p.line, p.col) for p in problems] == [(6, 5)]
    assert problems[0].message == "duplicate key 'limit' (first written on line 4)"
    assert problems[0].hint
    # The first value is kept, not silently replaced by the last one.
    assert located is not None
    assert located.data["steps"]["verifikasi"]["limit"] == "2 jam"
    assert located.where(("steps", "verifikasi", "limit")) == (4, 12)


def test_duplicate_top_level_and_flow_keys() -> None:
    text = """\
sop: a
roles: {admin: {kind: unit_staff}, admin: {kind: citizen}}
sop: b
"""
    _, problems = _load(text)
    assert sorted((p.line, p.col, p.message) for p in problems) == [
        (2, 36, "duplicate key 'admin' (first written on line 2)"),
        (3, 1, "duplicate key 'sop' (first written on line 1)"),
    ]


def test_equal_keys_in_different_mappings_are_fine() -> None:
    _ok("a: {title: x}\nb: {title: y}\n")


# --- YAML 1.1 booleans -----------------------------------------------------------------------


@pytest.mark.parametrize("word", ["yes", "Yes", "YES", "no", "No", "NO", "on", "On", "off", "OFF"])
def test_yaml11_boolean_words_are_reported(word: str) -> None:
    text = f"fields:\n  bersedia:\n    options: [ya, {word}]\n    default: {word}\n"
    located, problems = _load(text)
    assert [(p.line, p.col) for p in problems] == [(3, 19), (4, 14)]
    for p in problems:
        assert p.message == f"'{word}' is read by YAML as a true/false value, not as text"
        assert "quotes" in p.hint
    # The word is kept as the text the author wrote, so later checks see what was written.
    assert located is not None
    assert located.data["fields"]["bersedia"] == {"options": ["ya", word], "default": word}


def test_yaml11_boolean_word_as_a_key_is_reported() -> None:
    located, problems = _load("kanal:\n  on: telepon\n")
    assert [(p.line, p.col) for p in problems] == [(2, 3)]
    assert "'on' is read by YAML as a true/false value" in problems[0].message
    assert located is not None
    assert located.data == {"kanal": {"on": "telepon"}}


@pytest.mark.parametrize("quoted", ['"yes"', "'no'", '"on"', "'Off'"])
def test_quoted_words_are_fine(quoted: str) -> None:
    located = _ok(f"jawaban: {quoted}\n")
    assert located.data == {"jawaban": quoted[1:-1]}


def test_true_false_and_indonesian_words_are_fine() -> None:
    located = _ok("a: true\nb: false\nc: ya\nd: tidak\ne: yess\n")
    assert located.data == {"a": True, "b": False, "c": "ya", "d": "tidak", "e": "yess"}


def test_dates_stay_text() -> None:
    located = _ok("created_on: 2023-09-04\nversion: 2023-09-18\n")
    assert located.data == {"created_on": "2023-09-04", "version": "2023-09-18"}


def test_numbers_and_null() -> None:
    located = _ok("a: 5\nb: 2.5\nc: null\nd: ~\ne: '5'\n")
    assert located.data == {"a": 5, "b": 2.5, "c": None, "d": None, "e": "5"}


# --- other YAML features ---------------------------------------------------------------------


def test_merge_keys_are_reported() -> None:
    text = "dasar: &dasar {by: admin}\nverifikasi:\n  <<: *dasar\n  title: Verifikasi\n"
    _, problems = _load(text)
    assert [(p.line, p.col) for p in problems] == [(3, 3)]
    assert "merge keys" in problems[0].message


def test_non_scalar_key_is_reported() -> None:
    _, problems = _load("? [a, b]\n: 1\n")
    assert [(p.line, p.col, p.message) for p in problems] == [
        (1, 3, "a mapping key must be plain text")
    ]


def test_top_level_list_is_read() -> None:
    assert _ok("- a\n- b\n").data == ["a", "b"]


# --- unreadable files ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n\n", "# hanya komentar\n"])
def test_empty_file(text: str) -> None:
    located, problems = _load(text)
    assert located is None
    assert [(p.line, p.col, p.message) for p in problems] == [(1, 1, "the file is empty")]


def test_document_marker_only_is_not_accepted(tmp_path: Path) -> None:
    path = tmp_path / "kosong.yaml"
    path.write_text("---\n# belum diisi\n", encoding="utf-8")
    problems = load_catalog([path]).problems
    assert len(problems) == 1
    assert problems[0].file == str(path)


def test_syntax_error_is_located() -> None:
    text = "sop: a\nsteps:\n  verifikasi:\n    title: Verifikasi: cek lokasi\n"
    located, problems = _load(text)
    assert located is None
    assert [(p.line, p.col) for p in problems] == [(4, 22)]
    assert problems[0].message == "YAML syntax error: mapping values are not allowed here"
    assert problems[0].hint


def test_bad_indentation_is_a_syntax_error() -> None:
    _, problems = _load("sop: a\n  title: b\n")
    assert len(problems) == 1
    assert problems[0].message.startswith("YAML syntax error")
    assert problems[0].line == 2


def test_tab_indentation_is_a_syntax_error() -> None:
    _, problems = _load("steps:\n\tverifikasi: {}\n")
    assert len(problems) == 1
    assert problems[0].message.startswith("YAML syntax error")
    assert problems[0].line == 2


def test_reads_a_file_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "region.yaml"
    path.write_text("region: contoh\nname: Kabupaten Contoh\n", encoding="utf-8")
    located, problems = load_located(path)
    assert problems == []
    assert located is not None
    assert located.file == str(path)
    assert located.data == {"region": "contoh", "name": "Kabupaten Contoh"}
    assert located.where(("name",)) == (2, 7)


def test_utf8_text_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "sop.yaml"
    path.write_text("\ufefftitle: Pelayanan Umum — Dinas Kesehatan\nsatuan: 1×2 jam\n", "utf-8")
    located, problems = load_located(path)
    assert problems == []
    assert located is not None
    assert located.data == {"title": "Pelayanan Umum — Dinas Kesehatan", "satuan": "1×2 jam"}


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "lama.yaml"
    path.write_bytes("sop: a\ntitle: Pelayanan Kafé\n".encode("latin-1"))
    located, problems = load_located(path)
    assert located is None
    assert len(problems) == 1
    assert (problems[0].file, problems[0].line, problems[0].col) == (str(path), 1, 1)
    assert problems[0].message.startswith("cannot read file")
    assert "utf-8" in problems[0].message


def test_missing_file(tmp_path: Path) -> None:
    located, problems = load_located(tmp_path / "tidak-ada.yaml")
    assert located is None
    assert len(problems) == 1
    assert problems[0].message.startswith("cannot read file")


def test_crlf_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "windows.yaml"
    path.write_bytes(b"sop: a\r\nsteps:\r\n  verifikasi:\r\n    limit: 2 jam\r\n")
    located, problems = load_located(path)
    assert problems == []
    assert located is not None
    assert located.where(("steps", "verifikasi", "limit")) == (4, 12)
