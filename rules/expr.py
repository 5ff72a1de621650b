"""The restricted condition language used in ``when:`` clauses.

Conditions compare declared case fields with literal values and nothing else::

    jenis == pengaduan
    subtipe in [kegawatdaruratan, penyelamatan] and prioritas >= 2
    (kanal != sms or terverifikasi == true)

Operators: ``==`` ``!=`` ``<`` ``<=`` ``>`` ``>=``, ``in [...]``, ``not in [...]``, ``and``,
``or`` and parentheses. Text values may be bare words or quoted. There are no function calls, no
arithmetic and no field-to-field comparison, so two conditions can be checked for overlap and a
set of branches for completeness before anything runs (:func:`overlap`, :func:`uncovered`).

An atom on a field that has no value is false (``!=`` and ``not in`` included).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Scalar = str | int | float | bool


class ExprError(ValueError):
    """A condition that cannot be read; ``offset`` is the character where reading failed."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class Cmp:
    field: str
    op: str  # one of == != < <= > >=
    value: Scalar


@dataclass(frozen=True)
class In:
    field: str
    values: tuple[Scalar, ...]
    negated: bool = False


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


Expr = Cmp | In | And | Or
Atom = Cmp | In

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?(?![\w]))|(?P<str>'[^']*'|\"[^\"]*\")"
    r"|(?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)|(?P<word>[A-Za-z_][\w-]*))"
)


@dataclass(frozen=True)
class _Tok:
    kind: str
    value: Any
    offset: int


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            start = len(text) - len(text[pos:].lstrip())
            raise ExprError(f"unexpected character '{text[start]}'", start)
        start = m.start(m.lastgroup or 0)
        kind = m.lastgroup or ""
        raw = m.group(kind)
        if kind == "num":
            toks.append(_Tok("lit", float(raw) if "." in raw else int(raw), start))
        elif kind == "str":
            toks.append(_Tok("lit", raw[1:-1], start))
        elif kind == "word" and raw in ("and", "or", "not", "in"):
            toks.append(_Tok(raw, raw, start))
        elif kind == "word" and raw in ("true", "false"):
            toks.append(_Tok("lit", raw == "true", start))
        else:
            toks.append(_Tok(kind, raw, start))
        pos = m.end()
    toks.append(_Tok("end", None, len(text)))
    return toks


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self, kind: str, what: str) -> _Tok:
        tok = self.peek()
        if tok.kind != kind and not (kind == "op" and tok.kind == "op"):
            raise ExprError(f"expected {what}", tok.offset)
        self.i += 1
        return tok

    def parse(self) -> Expr:
        expr = self.or_expr()
        tok = self.peek()
        if tok.kind != "end":
            raise ExprError(
                f"unexpected '{tok.value}'; join conditions with 'and' / 'or'", tok.offset
            )
        return expr

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.peek().kind == "or":
            self.i += 1
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(_flatten(items, Or))

    def and_expr(self) -> Expr:
        items = [self.atom()]
        while self.peek().kind == "and":
            self.i += 1
            items.append(self.atom())
        return items[0] if len(items) == 1 else And(_flatten(items, And))

    def atom(self) -> Expr:
        tok = self.peek()
        if tok.kind == "op" and tok.value == "(":
            self.i += 1
            inner = self.or_expr()
            close = self.peek()
            if not (close.kind == "op" and close.value == ")"):
                raise ExprError("missing ')'", close.offset)
            self.i += 1
            return inner
        if tok.kind != "word":
            raise ExprError("expected a field name", tok.offset)
        self.i += 1
        field = str(tok.value)
        op = self.peek()
        if op.kind == "not":
            self.i += 1
            if self.peek().kind != "in":
                raise ExprError("expected 'in' after 'not'", self.peek().offset)
            self.i += 1
            return In(field, self.value_list(), negated=True)
        if op.kind == "in":
            self.i += 1
            return In(field, self.value_list())
        if op.kind == "op" and op.value in ("==", "!=", "<", "<=", ">", ">="):
            self.i += 1
            return Cmp(field, str(op.value), self.literal())
        raise ExprError(
            f"expected an operator (==, !=, <, <=, >, >=, in) after '{field}'", op.offset
        )

    def literal(self) -> Scalar:
        tok = self.peek()
        if tok.kind == "lit":
            self.i += 1
            return tok.value  # type: ignore[no-any-return]
        if tok.kind == "word":
            self.i += 1
            return str(tok.value)
        raise ExprError("expected a value", tok.offset)

    def value_list(self) -> tuple[Scalar, ...]:
        tok = self.peek()
        if not (tok.kind == "op" and tok.value == "["):
            raise ExprError("expected '[' to start a list of values", tok.offset)
        self.i += 1
        values = [self.literal()]
        while self.peek().kind == "op" and self.peek().value == ",":
            self.i += 1
            values.append(self.literal())
        close = self.peek()
        if not (close.kind == "op" and close.value == "]"):
            raise ExprError("missing ']' or ',' in the list of values", close.offset)
        self.i += 1
        return tuple(values)


def _flatten(items: list[Expr], kind: type[And] | type[Or]) -> tuple[Expr, ...]:
    """``(a and b) and c`` is ``a and b and c``: one canonical tree per meaning."""
    out: list[Expr] = []
    for item in items:
        out.extend(item.items if isinstance(item, kind) else (item,))
    return tuple(out)


def parse(text: str) -> Expr:
    """Parse a condition; raise :class:`ExprError` with the failing offset."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("a condition must be non-empty text")
    return _Parser(text).parse()


def atoms(expr: Expr) -> Iterable[Atom]:
    if isinstance(expr, And | Or):
        for item in expr.items:
            yield from atoms(item)
    else:
        yield expr


def fields_of(expr: Expr) -> set[str]:
    return {a.field for a in atoms(expr)}


def to_text(expr: Expr) -> str:
    """Canonical text of a condition (used in compiled output and messages)."""

    def lit(v: Scalar) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            text = repr(v)  # never an exponent: the condition language has none
            return format(Decimal(text), "f") if "e" in text or "E" in text else text
        return repr(v) if isinstance(v, str) else str(v)

    if isinstance(expr, Cmp):
        return f"{expr.field} {expr.op} {lit(expr.value)}"
    if isinstance(expr, In):
        neg = "not in" if expr.negated else "in"
        return f"{expr.field} {neg} [{', '.join(lit(v) for v in expr.values)}]"
    joiner = " and " if isinstance(expr, And) else " or "
    return joiner.join(
        f"({to_text(i)})" if isinstance(i, And | Or) and type(i) is not type(expr) else to_text(i)
        for i in expr.items
    )


# --- evaluation in plain Python (the reference semantics) -----------------------------------


def _same_kind(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return True
    return type(a) is type(b)


def _atom_true(atom: Atom, fields: Mapping[str, Any]) -> bool:
    if atom.field not in fields or fields[atom.field] is None:
        return False
    value = fields[atom.field]
    if isinstance(atom, In):
        hit = any(_same_kind(value, v) and value == v for v in atom.values)
        return not hit if atom.negated else hit
    if not _same_kind(value, atom.value):
        return atom.op == "!="
    if atom.op == "==":
        return bool(value == atom.value)
    if atom.op == "!=":
        return bool(value != atom.value)
    if isinstance(value, (bool, str)):
        return False  # ordering is defined for numbers only
    lhs, rhs = float(value), float(atom.value)
    return {"<": lhs < rhs, "<=": lhs <= rhs, ">": lhs > rhs, ">=": lhs >= rhs}[atom.op]


def evaluate(expr: Expr, fields: Mapping[str, Any]) -> bool:
    if isinstance(expr, And):
        return all(evaluate(i, fields) for i in expr.items)
    if isinstance(expr, Or):
        return any(evaluate(i, fields) for i in expr.items)
    return _atom_true(expr, fields)


# --- translation to durable_rules' JSON expressions ----------------------------------------

FIELD_PREFIX = "f."


def to_durable(expr: Expr) -> dict[str, Any]:
    """The same condition as a durable_rules JSON expression over the message's ``f`` object."""
    if isinstance(expr, And):
        return {"$and": [to_durable(i) for i in expr.items]}
    if isinstance(expr, Or):
        return {"$or": [to_durable(i) for i in expr.items]}
    key = FIELD_PREFIX + expr.field
    if isinstance(expr, In):
        if expr.negated:
            return {"$and": [{"$neq": {key: v}} for v in expr.values]}
        if len(expr.values) == 1:
            return {key: expr.values[0]}
        return {"$or": [{key: v} for v in expr.values]}
    if expr.op == "==":
        return {key: expr.value}
    op = {"!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}[expr.op]
    return {op: {key: expr.value}}


# --- static analysis ------------------------------------------------------------------------

Conj = tuple[Atom, ...]


def dnf(expr: Expr) -> list[Conj]:
    """The condition as a disjunction of conjunctions of atoms."""
    if isinstance(expr, Or):
        return [c for item in expr.items for c in dnf(item)]
    if isinstance(expr, And):
        parts = [dnf(i) for i in expr.items]
        return [tuple(a for c in combo for a in c) for combo in itertools.product(*parts)]
    return [(expr,)]


@dataclass(frozen=True)
class Domain:
    """What values a field can take: a finite set of options, or any value of a kind."""

    kind: str  # "choice", "boolean", "number", "text"
    options: tuple[Scalar, ...] = ()

    @property
    def finite(self) -> bool:
        return self.kind in ("choice", "boolean")

    def values(self) -> tuple[Scalar, ...]:
        if self.kind == "boolean":
            return (True, False)
        return self.options


def _field_witness(atoms_: Sequence[Atom], domain: Domain | None) -> tuple[bool, Scalar | None]:
    """A value of one field meeting every atom on it, if there is one."""
    rebound = _rebind(atoms_)
    if domain is not None and domain.finite:
        candidates: list[Scalar] = list(domain.values())
    else:
        # Infinite domain. Atoms on one field cut the number line at their literals, so each
        # literal, each midpoint between neighbouring literals and one point beyond either end
        # represent every region: checking those decides satisfiability exactly.
        literals = [v for a in atoms_ for v in (a.values if isinstance(a, In) else (a.value,))]
        numbers = sorted(
            {float(v) for v in literals if isinstance(v, int | float) and not isinstance(v, bool)}
        )
        numeric: list[Scalar] = list(numbers)
        numeric.extend((lo + hi) / 2 for lo, hi in itertools.pairwise(numbers))
        numeric.extend([numbers[0] - 1, numbers[-1] + 1] if numbers else [0])
        textual: list[Scalar] = [v for v in literals if isinstance(v, str)]
        textual.append("nilai-lain")
        kind = domain.kind if domain is not None else None
        if kind == "number":
            candidates = numeric
        elif kind == "text":
            candidates = textual
        else:
            candidates = [*textual, *numeric, True, False]
    for c in candidates:
        if all(_atom_true(a, {"v": c}) for a in rebound):
            return True, c
    return False, None


def _rebind(atoms_: Sequence[Atom]) -> list[Atom]:
    out: list[Atom] = []
    for a in atoms_:
        if isinstance(a, In):
            out.append(In("v", a.values, a.negated))
        else:
            out.append(Cmp("v", a.op, a.value))
    return out


def satisfiable(conj: Conj, domains: Mapping[str, Domain]) -> bool:
    return witness_of(conj, domains) is not None


def witness_of(conj: Conj, domains: Mapping[str, Domain]) -> dict[str, Scalar] | None:
    """Field values meeting every atom of a conjunction, or ``None`` if it cannot hold."""
    by_field: dict[str, list[Atom]] = {}
    for a in conj:
        by_field.setdefault(a.field, []).append(a)
    out: dict[str, Scalar] = {}
    for name, atoms_ in by_field.items():
        ok, value = _field_witness(atoms_, domains.get(name))
        if not ok:
            return None
        assert value is not None
        out[name] = value
    return out


def witness(expr: Expr, domains: Mapping[str, Domain]) -> dict[str, Scalar] | None:
    """Field values for which ``expr`` holds, or ``None`` if it never can."""
    for conj in dnf(expr):
        found = witness_of(conj, domains)
        if found is not None:
            return found
    return None


def overlap(a: Expr | None, b: Expr | None, domains: Mapping[str, Domain]) -> bool:
    """Can both conditions be true for the same case? ``None`` means "always true"."""
    left = dnf(a) if a is not None else [()]
    right = dnf(b) if b is not None else [()]
    return any(satisfiable(x + y, domains) for x in left for y in right)


def uncovered(
    exprs: Sequence[Expr], domains: Mapping[str, Domain], limit: int = 20000
) -> list[dict[str, Scalar]] | None:
    """Assignments of the mentioned fields that no condition accepts.

    Returns ``None`` when coverage cannot be decided (a field with infinitely many values, or too
    many combinations); the caller then asks for an ``otherwise`` branch.
    """
    names = sorted(set().union(*(fields_of(e) for e in exprs))) if exprs else []
    doms = [domains.get(n) for n in names]
    if any(d is None or not d.finite for d in doms):
        return None
    total = 1
    for d in doms:
        assert d is not None
        total *= max(1, len(d.values()))
    if total > limit:
        return None
    missing: list[dict[str, Scalar]] = []
    for combo in itertools.product(*(d.values() for d in doms if d is not None)):
        assignment = dict(zip(names, combo, strict=True))
        if not any(evaluate(e, assignment) for e in exprs):
            missing.append(assignment)
    return missing
