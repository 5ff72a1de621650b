"""A plain-Python transition table built from the same definition as the compiled ruleset.

It is the reference the evaluator is tested against (a differential test: both must give the same
outcome code for every question) and the baseline the evaluator benchmark measures against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rules import expr as ex
from rules.compiler import required_fields
from rules.evaluator import Decision, interpret, prepare
from rules.model import Branch, Sop


@dataclass(frozen=True)
class _Entry:
    roles: frozenset[str]
    guard: ex.Expr | None
    required: tuple[str, ...]
    branches: tuple[Branch, ...]
    to: str | None


class TransitionTable:
    """``(step, action) -> entry`` lookups answering like the compiled ruleset."""

    def __init__(self, sop: Sop) -> None:
        self.sop = sop
        self._entries: dict[tuple[str, str], _Entry] = {}
        for sid, step in sop.steps.items():
            for aid, action in step.actions.items():
                self._entries[(sid, aid)] = _Entry(
                    frozenset(sop.action_roles(step, action)),
                    action.when,
                    tuple(required_fields(action)),
                    tuple(action.branches),
                    action.to,
                )

    def outcome(
        self,
        step: str,
        roles: Iterable[str],
        action: str,
        values: Mapping[str, Any],
        entries: Mapping[str, Any] | None = None,
    ) -> str:
        """The outcome code (as the compiled rules name it) for normalised values and entries."""
        given = values if entries is None else entries
        entry = self._entries.get((step, action))
        if entry is None:
            return f"why:action:{step}" if step in self.sop.steps else "why:step"
        if not entry.roles.intersection(roles):
            return f"why:role:{step}:{action}"
        if entry.guard is not None and not ex.evaluate(entry.guard, values):
            return f"why:condition:{step}:{action}"
        if any(name not in given for name in entry.required):
            return f"why:missing:{step}:{action}"
        for i, branch in enumerate(entry.branches):
            if branch.otherwise or (branch.when is not None and ex.evaluate(branch.when, values)):
                return f"go:{step}:{action}:{i}"
        if entry.branches:
            return f"why:missing:{step}:{action}"
        return f"{'go' if entry.to else 'stay'}:{step}:{action}:-"

    def decide(
        self,
        step: str,
        roles: Iterable[str],
        action: str,
        fields: Mapping[str, Any] | None = None,
        entries: Mapping[str, Any] | None = None,
    ) -> Decision:
        roles = list(roles)
        values, given = prepare(self.sop, fields, entries)
        code = self.outcome(step, roles, action, values, given)
        return interpret(self.sop, code, step, action, values, roles, given)
