"""Property tests over the seed SOPs (Hypothesis).

* Random event sequences never reach an undeclared step, never let a role act where the SOP does
  not name it, and always either transition or give a reason.
* Differential: for any (step, roles, action, fields), durable_rules answers exactly as a plain
  Python transition table built from the same definition.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import expr as ex
from rules.evaluator import CompiledSop, Evaluator
from rules.loader import BUILTIN_FIELDS, Catalog, load_catalog
from rules.table import TransitionTable
from tests.conftest import DEFINITIONS

_CATALOG = load_catalog([DEFINITIONS])
SOP_IDS = sorted(_CATALOG.latest())
HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def _value_strategy(sop_id: str, name: str) -> st.SearchStrategy[Any]:
    loaded = _CATALOG.latest()[sop_id]
    units = tuple(_CATALOG.regions[loaded.sop.region].units)
    domains = loaded.sop.domains(list(units))
    domains["unit"] = ex.Domain("choice", units)
    domain = domains.get(name)
    if domain is not None and domain.finite:
        return st.sampled_from(domain.values())
    if domain is not None and domain.kind == "number":
        return st.integers(min_value=-5, max_value=50)
    return st.sampled_from(["jawaban singkat", "ya", "-", "alasan lengkap"])


@st.composite
def questions(draw: st.DrawFn) -> tuple[str, str, list[str], str, dict[str, Any]]:
    sop_id = draw(st.sampled_from(SOP_IDS))
    sop = _CATALOG.latest()[sop_id].sop
    step = draw(st.sampled_from([*sop.steps, "tahap_usang"]))
    actions = sorted({a for s in sop.steps.values() for a in s.actions} | {"aksi_asing"})
    action = draw(st.sampled_from(actions))
    roles = draw(st.lists(st.sampled_from(sorted(sop.roles)), max_size=3, unique=True))
    names = sorted(set(sop.fields) | set(BUILTIN_FIELDS))
    chosen = draw(st.lists(st.sampled_from(names), max_size=len(names), unique=True))
    fields = {n: draw(_value_strategy(sop_id, n)) for n in chosen}
    return sop_id, step, roles, action, fields


@settings(max_examples=1500, deadline=None, suppress_health_check=HEALTH)
@given(q=questions())
def test_durable_rules_agrees_with_a_plain_transition_table(
    q: tuple[str, str, list[str], str, dict[str, Any]],
    compiled: dict[str, CompiledSop],
    evaluator: Evaluator,
) -> None:
    sop_id, step, roles, action, fields = q
    c = compiled[sop_id]
    assert evaluator.decide(c, step, roles, action, fields) == TransitionTable(c.sop).decide(
        step, roles, action, fields
    )


@st.composite
def walks(draw: st.DrawFn) -> tuple[str, list[tuple[list[str], str, dict[str, Any]]]]:
    sop_id = draw(st.sampled_from(SOP_IDS))
    sop = _CATALOG.latest()[sop_id].sop
    actions = sorted({a for s in sop.steps.values() for a in s.actions})
    names = sorted(set(sop.fields) | set(BUILTIN_FIELDS))
    events = []
    for _ in range(draw(st.integers(min_value=1, max_value=25))):
        roles = draw(
            st.lists(st.sampled_from(sorted(sop.roles)), min_size=1, max_size=2, unique=True)
        )
        action = draw(st.sampled_from(actions))
        chosen = draw(st.lists(st.sampled_from(names), max_size=len(names), unique=True))
        events.append((roles, action, {n: draw(_value_strategy(sop_id, n)) for n in chosen}))
    return sop_id, events


@settings(max_examples=300, deadline=None, suppress_health_check=HEALTH)
@given(w=walks())
def test_random_event_sequences_stay_inside_the_sop(
    w: tuple[str, list[tuple[list[str], str, dict[str, Any]]]],
    compiled: dict[str, CompiledSop],
    evaluator: Evaluator,
) -> None:
    sop_id, events = w
    c = compiled[sop_id]
    sop = c.sop
    step = sop.start
    for roles, action, fields in events:
        d = evaluator.decide(c, step, roles, action, fields)
        if not d.allowed:
            assert d.reason and d.message and d.message_en
            continue
        spec = sop.steps[step]
        assert action in spec.actions
        assert set(roles) & set(sop.action_roles(spec, spec.actions[action]))
        assert d.to in sop.steps
        step = d.to
    assert evaluator.session_is_clean(c)


def test_catalog_fixture_matches(catalog: Catalog) -> None:
    assert sorted(catalog.latest()) == SOP_IDS
