"""Compiling an SOP definition into a durable_rules ruleset (plain JSON-serialisable data).

One evaluation event is posted per decision::

    {"step": "<step>", "action": "<action>", "r": {"<role>": true},
     "f": {<fields>}, "e": {<entries>}}

``f`` holds the case's fields with the actor's entries laid over them (conditions read it); ``e``
holds only what the actor fills in now (required entries must be there: an answer stored on the
case by an earlier action never satisfies a later one).

Each rule matches one event on its own (no joins), so nothing is ever parked in the session, and
rules carry priorities (``pri``; lower fires first) so that exactly one answers every event:

====  ===========================================================================
pri   what fires
====  ===========================================================================
1     a transition: step, action, one of the allowed roles, guard, required fields,
      branch condition
2     ``why:missing`` - allowed and offered, but a required field is empty
3     ``why:condition`` - allowed role, but the action's guard does not hold
4     ``why:role`` - the action exists at this step, but not for these roles
5     ``why:action`` - the step exists but offers no such action (or has ended)
6     ``why:step`` - the case is at a step this SOP does not have
====  ===========================================================================

Rule names and outcome codes are stable, so the output can be kept as a golden file.
"""

from __future__ import annotations

import re
from typing import Any

from rules import expr as ex
from rules.model import Action, Sop, Step

ENTRY_PREFIX = "e."  # what the actor fills in now; required entries must come from here

PRI_TRANSITION = 1
PRI_MISSING = 2
PRI_CONDITION = 3
PRI_ROLE = 4
PRI_ACTION = 5
PRI_STEP = 6


def ruleset_name(sop: Sop, content_hash: str) -> str:
    """A ruleset name unique per (SOP, version, content)."""
    safe = re.sub(r"[^a-zA-Z0-9_]", "_", f"{sop.sop}__{sop.version}")
    return f"{safe}__{content_hash[:12]}"


def _and(*parts: dict[str, Any] | None) -> dict[str, Any]:
    items = [p for p in parts if p]
    return items[0] if len(items) == 1 else {"$and": items}


def _roles(roles: list[str]) -> dict[str, Any]:
    if len(roles) == 1:
        return {f"r.{roles[0]}": True}
    return {"$or": [{f"r.{r}": True} for r in roles]}


def _present(fields: list[str]) -> dict[str, Any] | None:
    if not fields:
        return None
    return _and(*({"$ex": {f"{ENTRY_PREFIX}{f}": 1}} for f in fields))


def required_fields(action: Action) -> list[str]:
    """Fields that must be filled for the action: its ``requires`` plus ``unit`` when re-routing."""
    names = list(action.requires)
    if action.reroute and "unit" not in names:
        names.append("unit")
    return names


def _rule(cond: dict[str, Any], pri: int, run: str) -> dict[str, Any]:
    return {"all": [{"m": cond}], "pri": pri, "run": run}


def _action_rules(sop: Sop, sid: str, step: Step, aid: str, action: Action) -> dict[str, Any]:
    rules: dict[str, Any] = {}
    at = {"step": sid}
    act = {"action": aid}
    roles = _roles(sop.action_roles(step, action))
    guard = ex.to_durable(action.when) if action.when is not None else None
    present = _present(required_fields(action))
    base = f"{sid}.{aid}"
    if action.branches:
        for i, branch in enumerate(action.branches):
            cond = ex.to_durable(branch.when) if branch.when is not None else None
            rules[f"{base}.go{i}"] = _rule(
                _and(at, act, roles, guard, present, cond), PRI_TRANSITION, f"go:{sid}:{aid}:{i}"
            )
    else:
        kind = "go" if action.to else "stay"
        rules[f"{base}.go"] = _rule(
            _and(at, act, roles, guard, present), PRI_TRANSITION, f"{kind}:{sid}:{aid}:-"
        )
    if present or action.branches:
        rules[f"{base}.missing"] = _rule(
            _and(at, act, roles, guard), PRI_MISSING, f"why:missing:{sid}:{aid}"
        )
    if guard:
        rules[f"{base}.condition"] = _rule(
            _and(at, act, roles), PRI_CONDITION, f"why:condition:{sid}:{aid}"
        )
    rules[f"{base}.role"] = _rule(_and(at, act), PRI_ROLE, f"why:role:{sid}:{aid}")
    return rules


def compile_sop(sop: Sop, content_hash: str) -> dict[str, dict[str, Any]]:
    """The ruleset for ``sop``: ``{ruleset_name: {rule_name: rule}}``."""
    rules: dict[str, Any] = {}
    for sid, step in sop.steps.items():
        for aid, action in step.actions.items():
            rules.update(_action_rules(sop, sid, step, aid, action))
        rules[f"{sid}.action"] = _rule({"step": sid}, PRI_ACTION, f"why:action:{sid}")
    rules["any.step"] = _rule({"$ex": {"step": 1}}, PRI_STEP, "why:step")
    return {ruleset_name(sop, content_hash): rules}
