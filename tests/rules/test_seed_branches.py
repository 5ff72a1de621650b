"""Every branch of every seed SOP, walked through the evaluator (durable_rules).

For each step reachable from the start, each action and each branch, the test builds the fields
that make the branch hold and checks that the evaluator sends the case where the SOP says; it
also checks the refusals: a role that may not act, and a required entry left empty.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from rules import expr as ex
from rules.compiler import required_fields
from rules.evaluator import CompiledSop, Evaluator
from rules.loader import Catalog
from rules.model import Sop
from tests.conftest import DEFINITIONS

SEED_SOPS = [
    "jss-kedaruratan",
    "jss-pengaduan",
    "jss-pelayanan-umum",
    "jss-data-informasi",
    "upik-pengaduan",
    "lapor",
    "pengaduan-terintegrasi",
    "helpdesk-siaga-112",
]


def test_every_seed_procedure_is_defined(catalog: Catalog) -> None:
    assert sorted(catalog.latest()) == sorted(SEED_SOPS)
    assert {p.parent.name for p in DEFINITIONS.glob("*/region.yaml")} == {
        "yogyakarta",
        "jambi",
        "bantul",
        "cirebon",
    }


def _filler(sop: Sop, name: str, domains: dict[str, ex.Domain]) -> Any:
    domain = domains.get(name)
    if domain is not None and domain.finite:
        return domain.values()[0]
    if domain is not None and domain.kind == "number":
        return 1
    return f"isi {name}"


def _edges(
    sop: Sop, unit_ids: list[str]
) -> Iterator[tuple[str, str, int | None, str, dict[str, Any]]]:
    domains = sop.domains(unit_ids)
    domains["unit"] = ex.Domain("choice", tuple(unit_ids))
    base = {n: _filler(sop, n, domains) for n, f in sop.fields.items() if f.required}
    for sid, step in sop.steps.items():
        for aid, action in step.actions.items():
            fields = dict(base)
            for name in required_fields(action):
                fields.setdefault(name, _filler(sop, name, domains))
            if action.when is not None:
                found = ex.witness(action.when, domains)
                assert found is not None, f"{sid}.{aid}: guard can never hold"
                fields.update(found)
            if not action.branches:
                yield sid, aid, None, action.to or sid, fields
                continue
            for i, branch in enumerate(action.branches):
                chosen = dict(fields)
                if branch.when is not None:
                    found = ex.witness(branch.when, domains)
                    assert found is not None, f"{sid}.{aid} branch {i}: can never hold"
                    chosen.update(found)
                else:  # otherwise: any values that no earlier branch accepts
                    for candidate in _otherwise_candidates(
                        sop, action.branches[:i], domains, chosen
                    ):
                        chosen = candidate
                        break
                yield sid, aid, i, branch.to, chosen


def _otherwise_candidates(
    sop: Sop, earlier: list[Any], domains: dict[str, ex.Domain], fields: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    names = sorted(set().union(*(ex.fields_of(b.when) for b in earlier if b.when is not None)))
    pools = [
        domains[n].values() if n in domains and domains[n].finite else (fields.get(n, "x"), "lain")
        for n in names
    ]
    for combo in itertools.product(*pools):
        candidate = {**fields, **dict(zip(names, combo, strict=True))}
        if not any(ex.evaluate(b.when, candidate) for b in earlier if b.when is not None):
            yield candidate


def _cases(catalog: Catalog) -> list[Any]:
    out = []
    for sop_id, loaded in sorted(catalog.latest().items()):
        units = list(catalog.regions[loaded.sop.region].units)
        for sid, aid, branch, to, fields in _edges(loaded.sop, units):
            out.append(
                pytest.param(
                    sop_id,
                    sid,
                    aid,
                    branch,
                    to,
                    fields,
                    id=f"{sop_id}:{sid}.{aid}" + (f"#{branch}" if branch is not None else ""),
                )
            )
    return out


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "edge" in metafunc.fixturenames:
        from rules.loader import load_catalog

        cases = _cases(load_catalog([DEFINITIONS]))
        metafunc.parametrize("edge", [p.values for p in cases], ids=[p.id for p in cases])
    if "edge_with_entries" in metafunc.fixturenames:
        from rules.loader import load_catalog

        catalog = load_catalog([DEFINITIONS])
        cases = [
            p
            for p in _cases(catalog)
            if required_fields(
                catalog.latest()[p.values[0]].sop.steps[p.values[1]].actions[p.values[2]]
            )
        ]
        metafunc.parametrize(
            "edge_with_entries", [p.values for p in cases], ids=[p.id for p in cases]
        )


def test_branch_fires_as_declared(
    edge: tuple[str, str, str, int | None, str, dict[str, Any]],
    compiled: dict[str, CompiledSop],
    evaluator: Evaluator,
) -> None:
    sop_id, sid, aid, branch, to, fields = edge
    c = compiled[sop_id]
    step = c.sop.steps[sid]
    roles = c.sop.action_roles(step, step.actions[aid])
    decision = evaluator.decide(c, sid, [roles[0]], aid, fields)
    assert decision.allowed, decision.message
    assert decision.to == to
    assert decision.branch == branch
    action = step.actions[aid]
    assert decision.moves == bool(action.to or action.branches)


def test_other_roles_are_refused(
    edge: tuple[str, str, str, int | None, str, dict[str, Any]],
    compiled: dict[str, CompiledSop],
    evaluator: Evaluator,
) -> None:
    sop_id, sid, aid, _branch, _to, fields = edge
    c = compiled[sop_id]
    step = c.sop.steps[sid]
    allowed = set(c.sop.action_roles(step, step.actions[aid]))
    others = [r for r in c.sop.roles if r not in allowed]
    assert others, "every SOP has a role that may not take a given action"
    decision = evaluator.decide(c, sid, others, aid, fields)
    assert not decision.allowed
    assert decision.reason == "not_your_role"
    titles = [c.sop.roles[r].title or r for r in allowed]
    assert any(t in decision.message for t in titles)


def test_required_entries_are_enforced(
    edge_with_entries: tuple[str, str, str, int | None, str, dict[str, Any]],
    compiled: dict[str, CompiledSop],
    evaluator: Evaluator,
) -> None:
    sop_id, sid, aid, _branch, _to, fields = edge_with_entries
    c = compiled[sop_id]
    action = c.sop.steps[sid].actions[aid]
    needed = required_fields(action)
    roles = c.sop.action_roles(c.sop.steps[sid], action)
    without = {k: v for k, v in fields.items() if k != needed[0]}
    decision = evaluator.decide(c, sid, roles, aid, without)
    assert not decision.allowed
    assert decision.reason == "missing_fields"
    assert needed[0] in decision.missing
    # A blank entry counts as empty.
    blank = {**fields, needed[0]: "   "}
    assert evaluator.decide(c, sid, roles, aid, blank).reason == "missing_fields"
