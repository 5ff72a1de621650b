"""The ``when:`` condition language: parsing, evaluation, canonical text and static analysis."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import expr as ex
from rules.expr import And, Cmp, Domain, ExprError, In, Or, evaluate, overlap, parse, to_text

# --- parsing ---------------------------------------------------------------------------------


def test_comparison_operators() -> None:
    for op in ("==", "!=", "<", "<=", ">", ">="):
        assert parse(f"prioritas {op} 2") == Cmp("prioritas", op, 2)


def test_and_binds_tighter_than_or() -> None:
    a, b, c = Cmp("a", "==", 1), Cmp("b", "==", 2), Cmp("c", "==", 3)
    assert parse("a == 1 or b == 2 and c == 3") == Or((a, And((b, c))))
    assert parse("a == 1 and b == 2 or c == 3") == Or((And((a, b)), c))


def test_parentheses_group() -> None:
    a, b, c = Cmp("a", "==", 1), Cmp("b", "==", 2), Cmp("c", "==", 3)
    assert parse("(a == 1 or b == 2) and c == 3") == And((Or((a, b)), c))
    assert parse("((a == 1))") == a
    assert parse("a == 1 and (b == 2 or c == 3)") == And((a, Or((b, c))))


def test_chains_are_flat() -> None:
    assert parse("a == 1 and b == 2 and c == 3") == And(
        (Cmp("a", "==", 1), Cmp("b", "==", 2), Cmp("c", "==", 3))
    )
    assert parse("a == 1 or b == 2 or c == 3") == Or(
        (Cmp("a", "==", 1), Cmp("b", "==", 2), Cmp("c", "==", 3))
    )


def test_bare_and_quoted_words() -> None:
    assert parse("jenis == pengaduan") == Cmp("jenis", "==", "pengaduan")
    assert parse("jenis == 'pengaduan'") == Cmp("jenis", "==", "pengaduan")
    assert parse('jenis == "pengaduan"') == Cmp("jenis", "==", "pengaduan")
    assert parse("kanal == sms-center") == Cmp("kanal", "==", "sms-center")
    assert parse("kecamatan == 'Gondokusuman Timur'") == Cmp(
        "kecamatan", "==", "Gondokusuman Timur"
    )
    # Quoting keeps keywords and numbers as text.
    assert parse("x == 'and'") == Cmp("x", "==", "and")
    assert parse("x == 'true'") == Cmp("x", "==", "true")
    assert parse("x == '5'") == Cmp("x", "==", "5")
    assert parse('x == "it\'s"') == Cmp("x", "==", "it's")


def test_numbers_and_booleans() -> None:
    assert parse("skor >= 2") == Cmp("skor", ">=", 2)
    assert isinstance(parse("skor >= 2").value, int)  # type: ignore[union-attr]
    assert parse("skor < 2.5") == Cmp("skor", "<", 2.5)
    assert parse("suhu > -3") == Cmp("suhu", ">", -3)
    assert parse("suhu > -0.5") == Cmp("suhu", ">", -0.5)
    assert parse("terverifikasi == true") == Cmp("terverifikasi", "==", True)
    assert parse("terverifikasi != false") == Cmp("terverifikasi", "!=", False)


def test_in_and_not_in() -> None:
    assert parse("subtipe in [kebakaran, banjir]") == In("subtipe", ("kebakaran", "banjir"))
    assert parse("subtipe not in [kebakaran]") == In("subtipe", ("kebakaran",), negated=True)
    assert parse("x in [1, 'dua', true, 2.5]") == In("x", (1, "dua", True, 2.5))
    assert parse("kanal in [web,sms]and x==1") == And(
        (In("kanal", ("web", "sms")), Cmp("x", "==", 1))
    )


def test_whitespace_is_free() -> None:
    assert parse("  a==1   and\tb !=  x ") == And((Cmp("a", "==", 1), Cmp("b", "!=", "x")))


def test_atoms_and_fields() -> None:
    e = parse("(a == 1 or b in [x]) and a != 2")
    assert [atom.field for atom in ex.atoms(e)] == ["a", "b", "a"]
    assert ex.fields_of(e) == {"a", "b"}


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("", 0, "non-empty"),
        ("   ", 0, "non-empty"),
        ("kategori = jalan", 9, "unexpected character '='"),
        ("a ! b", 2, "unexpected character '!'"),
        ("a == 'tidak ditutup", 5, "unexpected character"),
        ("kategori == ", 12, "expected a value"),
        ("a >", 3, "expected a value"),
        ("(a == 1", 7, "missing ')'"),
        ("a == 1)", 6, "unexpected ')'"),
        ("a == 1 b == 2", 7, "join conditions with 'and' / 'or'"),
        ("a in 1", 5, "expected '['"),
        ("a in [1", 7, "missing ']'"),
        ("a in [1 2]", 8, "missing ']' or ','"),
        ("a in [1, ]", 9, "expected a value"),
        ("a not 1", 6, "expected 'in' after 'not'"),
        ("a == 1 and", 10, "expected a field name"),
        ("== 1", 0, "expected a field name"),
        ("and == 1", 0, "expected a field name"),
        ("a b", 2, "expected an operator"),
        ("skor == 5menit", 8, "unexpected character '5'"),
    ],
)
def test_errors_carry_the_offset(text: str, offset: int, message: str) -> None:
    with pytest.raises(ExprError) as info:
        parse(text)
    assert info.value.offset == offset
    assert message in str(info.value)


def test_non_text_is_refused() -> None:
    with pytest.raises(ExprError):
        parse(5)  # type: ignore[arg-type]


def test_expr_error_is_a_value_error() -> None:
    assert issubclass(ExprError, ValueError)


# --- evaluation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "jenis == pengaduan",
        "jenis != pengaduan",
        "jenis in [pengaduan]",
        "jenis not in [pengaduan]",
        "skor < 3",
        "skor >= 3",
    ],
)
def test_missing_field_is_false(text: str) -> None:
    e = parse(text)
    assert evaluate(e, {}) is False
    assert evaluate(e, {"jenis": None, "skor": None}) is False
    assert evaluate(e, {"lain": "pengaduan"}) is False


def test_missing_field_inside_or_and_and() -> None:
    e = parse("jenis != saran or skor > 1")
    assert evaluate(e, {"skor": 2}) is True
    assert evaluate(e, {}) is False
    assert evaluate(parse("jenis != saran and skor > 1"), {"skor": 2}) is False


@pytest.mark.parametrize(
    ("text", "fields", "expected"),
    [
        ("jenis == pengaduan", {"jenis": "pengaduan"}, True),
        ("jenis == pengaduan", {"jenis": "saran"}, False),
        ("jenis != pengaduan", {"jenis": "saran"}, True),
        ("jenis in [saran, pertanyaan]", {"jenis": "saran"}, True),
        ("jenis in [saran, pertanyaan]", {"jenis": "pengaduan"}, False),
        ("jenis not in [saran, pertanyaan]", {"jenis": "pengaduan"}, True),
        ("jenis not in [saran, pertanyaan]", {"jenis": "saran"}, False),
        ("skor < 3", {"skor": 2}, True),
        ("skor < 3", {"skor": 3}, False),
        ("skor <= 3", {"skor": 3}, True),
        ("skor > 2.5", {"skor": 3}, True),
        ("skor >= 3", {"skor": 2.99}, False),
        ("skor == 3", {"skor": 3.0}, True),
        ("terverifikasi == true", {"terverifikasi": True}, True),
        ("terverifikasi == true", {"terverifikasi": False}, False),
        # Values of another kind never equal a literal; only != and not in hold.
        ("skor == 1", {"skor": True}, False),
        ("skor == 1", {"skor": "1"}, False),
        ("skor != 1", {"skor": "1"}, True),
        ("terverifikasi == true", {"terverifikasi": 1}, False),
        ("skor in [1, 2]", {"skor": "1"}, False),
        ("skor not in [1, 2]", {"skor": "1"}, True),
        # Ordering holds for numbers only.
        ("jenis < m", {"jenis": "a"}, False),
        ("jenis >= a", {"jenis": "a"}, False),
        ("(jenis == saran or skor > 1) and kanal == web", {"jenis": "saran", "kanal": "web"}, True),
        ("(jenis == saran or skor > 1) and kanal == web", {"skor": 5, "kanal": "sms"}, False),
    ],
)
def test_evaluate(text: str, fields: dict[str, Any], expected: bool) -> None:
    assert evaluate(parse(text), fields) is expected


# --- canonical text ----------------------------------------------------------------------------

ROUND_TRIP = [
    "jenis == pengaduan",
    "jenis == 'dua kata'",
    'x == "it\'s"',
    "x == 'and'",
    "x == '5'",
    "skor >= 2 and skor < 2.5",
    "suhu > -3.5",
    "terverifikasi == true or terverifikasi != false",
    "subtipe in [kebakaran, 'pohon tumbang', 3, true]",
    "subtipe not in [kebakaran]",
    "a == 1 or b == 2 and c == 3",
    "(a == 1 or b == 2) and c == 3",
    "a == 1 and (b == 2 or (c == 3 and d == 4))",
    "((a == 1 or b == 2) and c == 3) or d == 4",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_to_text_round_trip(text: str) -> None:
    e = parse(text)
    assert parse(to_text(e)) == e
    assert to_text(parse(to_text(e))) == to_text(e)


def test_to_text_is_canonical() -> None:
    assert to_text(parse("a==1  and b in[x,'y z']")) == "a == 1 and b in ['x', 'y z']"
    assert to_text(parse("a == 1 or b == 2 and c == 3")) == "a == 1 or (b == 2 and c == 3)"
    assert to_text(parse("t == true")) == "t == true"
    assert to_text(parse("s not in [1, 2.5]")) == "s not in [1, 2.5]"


def test_to_text_round_trip_small_number() -> None:
    e = parse("skor < 0.00001")
    assert parse(to_text(e)) == e


def test_to_text_round_trip_redundant_parentheses() -> None:
    e = parse("(a == 1 and b == 2) and c == 3")
    assert parse(to_text(e)) == e


def test_redundant_parentheses_keep_the_meaning() -> None:
    e = parse("(a == 1 and b == 2) and c == 3")
    back = parse(to_text(e))
    for a, b, c in itertools.product((1, 2), repeat=3):
        fields = {"a": a, "b": b, "c": c}
        assert evaluate(back, fields) == evaluate(e, fields)


# --- overlap -----------------------------------------------------------------------------------

DOMAINS = {
    "jenis": Domain("choice", ("pengaduan", "saran", "pertanyaan")),
    "kanal": Domain("choice", ("web", "sms")),
    "terverifikasi": Domain("boolean"),
    "skor": Domain("number"),
    "kecamatan": Domain("text"),
}


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # choice
        ("jenis == pengaduan", "jenis == saran", False),
        ("jenis == pengaduan", "jenis in [pengaduan, saran]", True),
        ("jenis != pengaduan", "jenis != saran", True),  # pertanyaan
        ("jenis not in [pengaduan, saran]", "jenis != pertanyaan", False),
        ("jenis in [saran, pertanyaan]", "jenis not in [saran]", True),
        ("jenis == pengaduan", "kanal == sms", True),  # different fields
        ("jenis == pengaduan and kanal == web", "jenis == pengaduan and kanal == sms", False),
        ("jenis == pengaduan or kanal == web", "jenis == saran and kanal == web", True),
        # boolean
        ("terverifikasi == true", "terverifikasi == false", False),
        ("terverifikasi != true", "terverifikasi == false", True),
        # number
        ("skor >= 4", "skor >= 3", True),
        ("skor < 3", "skor >= 3", False),
        ("skor <= 3", "skor >= 3", True),  # exactly 3
        ("skor > 1", "skor < 2", True),  # 1.5
        ("skor > 1 and skor < 2", "skor == 1 or skor == 2", False),
        ("skor > 2.5", "skor < 3", True),  # 2.75
        ("skor > 2.9", "skor < 3", True),  # 2.95
        ("skor > 2 and skor != 2.5", "skor < 3", True),  # 2.25
        ("skor >= 3", "skor < 3", False),
        ("skor in [1, 2]", "skor not in [1, 2]", False),
        ("skor != 3", "skor != 4", True),
        ("skor > 100", "skor < -100", False),
        # text (infinitely many values)
        ("kecamatan == Wates", "kecamatan == Sentolo", False),
        ("kecamatan == Wates", "kecamatan != Sentolo", True),
        ("kecamatan != Wates", "kecamatan != Sentolo", True),  # any third name
        ("kecamatan in [Wates, Sentolo]", "kecamatan not in [Wates, Sentolo]", False),
    ],
)
def test_overlap(a: str, b: str, expected: bool) -> None:
    assert overlap(parse(a), parse(b), DOMAINS) is expected
    assert overlap(parse(b), parse(a), DOMAINS) is expected


def test_overlap_with_none_means_always() -> None:
    assert overlap(None, parse("jenis == saran"), DOMAINS) is True
    assert overlap(parse("skor > 1 and skor < 1"), None, DOMAINS) is False
    assert overlap(None, None, DOMAINS) is True


def test_overlap_on_unknown_field_is_decided_from_literals() -> None:
    assert overlap(parse("x == a"), parse("x == b"), {}) is False
    assert overlap(parse("x == a"), parse("x != b"), {}) is True


# --- coverage ----------------------------------------------------------------------------------


def test_uncovered_lists_missing_assignments() -> None:
    exprs = [parse("jenis == pengaduan"), parse("jenis == saran and kanal == web")]
    missing = ex.uncovered(exprs, DOMAINS)
    assert missing == [
        {"jenis": "saran", "kanal": "sms"},
        {"jenis": "pertanyaan", "kanal": "web"},
        {"jenis": "pertanyaan", "kanal": "sms"},
    ]


def test_uncovered_is_empty_when_complete() -> None:
    exprs = [parse("jenis == pengaduan"), parse("jenis in [saran, pertanyaan]")]
    assert ex.uncovered(exprs, DOMAINS) == []
    assert (
        ex.uncovered([parse("terverifikasi == true"), parse("terverifikasi != true")], DOMAINS)
        == []
    )


def test_uncovered_boolean() -> None:
    assert ex.uncovered([parse("terverifikasi == true")], DOMAINS) == [{"terverifikasi": False}]


@pytest.mark.parametrize(
    "texts",
    [
        ["skor < 3", "skor >= 3"],  # number: complete, but not decidable by enumeration
        ["kecamatan == Wates"],
        ["jenis == saran", "kecamatan == Wates"],
        ["tidak_dideklarasikan == x"],
    ],
)
def test_uncovered_is_none_for_infinite_or_unknown_domains(texts: list[str]) -> None:
    assert ex.uncovered([parse(t) for t in texts], DOMAINS) is None


def test_uncovered_gives_up_on_too_many_combinations() -> None:
    domains = {f"f{i}": Domain("choice", tuple(range(10))) for i in range(5)}
    exprs = [parse(" and ".join(f"f{i} == 0" for i in range(5)))]
    assert ex.uncovered(exprs, domains) is None
    assert ex.uncovered(exprs, domains, limit=10**6) is not None


# --- properties --------------------------------------------------------------------------------

C1 = ("a", "b", "c")
C2 = ("x", "y")
N_LITERALS = (0, 1, 2.5, 3)
# Every region of the number line cut at the literals has a representative here: the literals,
# the midpoints between neighbours and a point beyond either end.
N_CANDIDATES = (-1, 0, 0.5, 1, 1.75, 2.5, 2.75, 3, 4)
PROP_DOMAINS: Mapping[str, Domain] = {
    "c1": Domain("choice", C1),
    "c2": Domain("choice", C2),
    "n": Domain("number"),
}


def _subset(values: tuple[Any, ...]) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(st.sampled_from(values), min_size=1, max_size=len(values), unique=True).map(
        tuple
    )


def _choice_atoms(name: str, options: tuple[str, ...]) -> st.SearchStrategy[ex.Expr]:
    return st.one_of(
        st.builds(Cmp, st.just(name), st.sampled_from(["==", "!="]), st.sampled_from(options)),
        st.builds(In, st.just(name), _subset(options), st.booleans()),
    )


ATOMS: st.SearchStrategy[ex.Expr] = st.one_of(
    _choice_atoms("c1", C1),
    _choice_atoms("c2", C2),
    st.builds(
        Cmp,
        st.just("n"),
        st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
        st.sampled_from(N_LITERALS),
    ),
    st.builds(In, st.just("n"), _subset(N_LITERALS), st.booleans()),
)


def _combine(children: st.SearchStrategy[ex.Expr]) -> st.SearchStrategy[ex.Expr]:
    items = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(st.builds(And, items), st.builds(Or, items))


EXPRS: st.SearchStrategy[ex.Expr] = st.recursive(ATOMS, _combine, max_leaves=8)

# Assignments may leave a field out, set it to None, or give a value of another kind.
ASSIGNMENTS = st.fixed_dictionaries(
    {},
    optional={
        "c1": st.sampled_from((*C1, "z", None, 1)),
        "c2": st.sampled_from((*C2, None)),
        "n": st.sampled_from((*N_CANDIDATES, None, "1", True)),
    },
)


def _complete_assignments() -> list[dict[str, Any]]:
    return [{"c1": a, "c2": b, "n": n} for a, b, n in itertools.product(C1, C2, N_CANDIDATES)]


COMPLETE = _complete_assignments()


@settings(max_examples=300, deadline=None)
@given(EXPRS, st.lists(ASSIGNMENTS, min_size=1, max_size=8))
def test_property_text_round_trip_keeps_meaning(e: ex.Expr, fields: list[dict[str, Any]]) -> None:
    back = parse(to_text(e))
    assert to_text(back) == to_text(e)
    for assignment in fields:
        assert evaluate(back, assignment) == evaluate(e, assignment)


@settings(max_examples=300, deadline=None)
@given(EXPRS, EXPRS)
def test_property_overlap_matches_enumeration(a: ex.Expr, b: ex.Expr) -> None:
    expected = any(evaluate(a, f) and evaluate(b, f) for f in COMPLETE)
    assert overlap(a, b, PROP_DOMAINS) is expected


CHOICE_EXPRS: st.SearchStrategy[ex.Expr] = st.recursive(
    st.one_of(_choice_atoms("c1", C1), _choice_atoms("c2", C2)), _combine, max_leaves=6
)


@settings(max_examples=200, deadline=None)
@given(st.lists(CHOICE_EXPRS, min_size=1, max_size=4))
def test_property_uncovered_matches_enumeration(exprs: list[ex.Expr]) -> None:
    names = sorted(set().union(*(ex.fields_of(e) for e in exprs)))
    options = {"c1": C1, "c2": C2}
    expected = []
    for combo in itertools.product(*(options[n] for n in names)):
        assignment = dict(zip(names, combo, strict=True))
        if not any(evaluate(e, assignment) for e in exprs):
            expected.append(assignment)
    assert ex.uncovered(exprs, PROP_DOMAINS) == expected
