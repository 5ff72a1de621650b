"""The evaluator: the one module that talks to durable_rules.

Given a compiled SOP, a case's current step and fields, the actor's roles and an action, it says
which transition fires, or why none may. It carries no case state between calls. Each pitfall of
durable_rules 2.0.28 measured on these machines is designed around here (tests pin each one):

* **Timer threads.** ``Host()`` starts two repeating timer threads; :class:`_QuietHost` overrides
  ``_run`` so none start. SLA deadlines live in the database, never in engine timers.
* **1024 sessions per ruleset, 32-bit sid hashing, crash on ``delete_state``.** One fixed session
  id per ruleset is reused for every decision; no session is ever created per case or deleted.
* **Events parked silently when a guard is false.** Every rule matches one event on its own (no
  joins) and a catch-all rule answers any event, so every post fires exactly one rule and leaves
  nothing behind; :meth:`Evaluator.session_is_clean` checks it.
* **Actions that raise are swallowed** (the error lands in ``state["exception"]``). No Python
  action runs inside durable_rules at all: the evaluator asserts the event, takes the one queued
  action from the engine, reads which rule it belongs to and completes it. It checks that exactly
  one rule fired and that nothing more is queued, and raises :class:`EvaluatorError` otherwise.
  (This also skips the host's JSON round trips of the session state: half the cost per decision.)
* **Overlapping rules.** Priorities make the order explicit, and the validator rejects
  overlapping branch conditions before compilation.
* **Not thread-safe.** All calls into the engine go through one process-wide lock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import durable_rules_engine as _native
from durable import engine as _dr

from rules import expr as ex
from rules.compiler import compile_sop, required_fields
from rules.loader import BUILTIN_FIELDS, LoadedSop
from rules.model import CaseField, FieldType, Sop

SESSION_ID = "evaluator"


class EvaluatorError(RuntimeError):
    """The rules engine did not answer as it must (a bug, never a user error)."""


@dataclass(frozen=True)
class Decision:
    """The answer to "may these roles take this action at this step, and where does it lead?"."""

    allowed: bool
    step: str
    action: str
    to: str | None = None  # the next step; equal to ``step`` for an action that stays
    branch: int | None = None
    moves: bool = False
    reason: str | None = None  # machine code of a refusal
    message: str = ""  # in Bahasa Indonesia
    message_en: str = ""
    missing: tuple[str, ...] = ()
    fields: Mapping[str, Any] = field(default_factory=dict)  # the normalised fields evaluated


REASONS: dict[str, tuple[str, str]] = {
    "unknown_step": (
        "Kasus berada pada tahap '{step}' yang tidak ada dalam SOP {sop} versi {version}.",
        "The case is at step '{step}', which SOP {sop} version {version} does not have.",
    ),
    "step_ended": (
        "Kasus sudah berakhir pada tahap '{step_title}'; tidak ada tindakan lagi.",
        "The case has ended at step '{step_title}'; no further action is possible.",
    ),
    "not_at_step": (
        "Tindakan '{action}' tidak tersedia pada tahap '{step_title}'.",
        "Action '{action}' is not available at step '{step_title}'.",
    ),
    "not_your_role": (
        "Tindakan '{action_label}' pada tahap ini hanya dapat dilakukan oleh {roles}.",
        "At this step, '{action_label}' may only be taken by {roles}.",
    ),
    "condition_false": (
        "Tindakan '{action_label}' tidak berlaku untuk kasus ini (syarat: {condition}).",
        "'{action_label}' does not apply to this case (condition: {condition}).",
    ),
    "missing_fields": (
        "Isian wajib belum diisi: {fields}.",
        "Required entries are missing: {fields}.",
    ),
    "invalid_field": (
        "Isian '{field}' tidak valid: {problem}.",
        "Entry '{field}' is not valid: {problem}.",
    ),
}


def _message(code: str, **params: Any) -> tuple[str, str]:
    id_text, en_text = REASONS[code]
    return id_text.format(**params), en_text.format(**params)


class FieldValueError(ValueError):
    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


def normalise_fields(sop: Sop, values: Mapping[str, Any]) -> dict[str, Any]:
    """Fields typed as the SOP declares them; blank values dropped; undeclared names dropped.

    Web forms send text: numbers and ya/tidak are converted here, so that durable_rules and the
    plain-Python reference see the same typed values.
    """
    declared: dict[str, CaseField] = {**BUILTIN_FIELDS, **sop.fields}
    out: dict[str, Any] = {}
    for name, value in values.items():
        spec = declared.get(name)
        if spec is None or value is None or (isinstance(value, str) and not value.strip()):
            continue
        out[name] = _coerce(name, spec, value)
    return out


def _coerce(name: str, spec: CaseField, value: Any) -> Any:
    kind = spec.type
    if kind is FieldType.number:
        if isinstance(value, bool):
            raise FieldValueError(name, "harus berupa angka")
        if isinstance(value, int | float):
            return value
        try:
            text = str(value).strip()
            return float(text) if "." in text else int(text)
        except ValueError:
            raise FieldValueError(name, "harus berupa angka") from None
    if kind is FieldType.boolean:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("ya", "true", "1", "yes"):
            return True
        if text in ("tidak", "false", "0", "no"):
            return False
        raise FieldValueError(name, "harus ya atau tidak")
    if kind is FieldType.choice:
        for option in spec.options:
            if value == option or (isinstance(value, str) and str(option) == value.strip()):
                return option
        options = ", ".join(map(str, spec.options))
        raise FieldValueError(name, f"pilih salah satu dari: {options}")
    if not isinstance(value, str):
        raise FieldValueError(name, "harus berupa teks")
    text = value.strip()
    if spec.max_length is not None and len(text) > spec.max_length:
        raise FieldValueError(name, f"paling banyak {spec.max_length} karakter")
    return text


def prepare(
    sop: Sop, fields: Mapping[str, Any] | None, entries: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The values conditions read (fields with entries laid over) and the entries themselves."""
    given = normalise_fields(sop, (fields if entries is None else entries) or {})
    return {**normalise_fields(sop, fields or {}), **given}, given


class _QuietHost(_dr.Host):
    """A durable_rules host without its background timer threads.

    Its rulesets are only used through :meth:`Evaluator._fire`; rule actions are never run.
    """

    def _run(self) -> None:
        return None

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        def never(_closure: Any) -> None:
            raise EvaluatorError(f"rule action {action_name} must not run through the host")

        return never


@dataclass(frozen=True)
class CompiledSop:
    sop: Sop
    content_hash: str
    ruleset_name: str
    ruleset: dict[str, Any]
    handle: int = 0  # durable_rules' native handle of the registered ruleset


class Evaluator:
    """Answers transition questions for any number of compiled SOPs; safe for concurrent callers."""

    _lock = threading.Lock()  # durable_rules keeps global C state: one lock for the process

    def __init__(self) -> None:
        self._host = _QuietHost()
        self._compiled: dict[str, CompiledSop] = {}

    def register(self, loaded: LoadedSop) -> CompiledSop:
        """Compile and register an SOP version (idempotent per content hash)."""
        return self.register_sop(loaded.sop, loaded.content_hash)

    def register_sop(self, sop: Sop, content_hash: str) -> CompiledSop:
        ruleset = compile_sop(sop, content_hash)
        (name,) = ruleset
        with self._lock:
            existing = self._compiled.get(name)
            if existing is not None:
                return existing
            # durable_rules deletes each rule's "run" while registering: give it a copy.
            self._host.register_rulesets(json.loads(json.dumps(ruleset)))
            handle = self._host.get_ruleset(name)._handle
            compiled = CompiledSop(sop, content_hash, name, ruleset[name], handle)
            self._compiled[name] = compiled
            return compiled

    def _fire(self, compiled: CompiledSop, message: dict[str, Any]) -> str:
        """Assert one event; return the outcome code of the one rule that fired."""
        text = json.dumps(message, ensure_ascii=False)
        handle = compiled.handle
        with self._lock:
            result = _native.assert_event(handle, text)
            if result[0] == 1:  # not handled: impossible while the catch-all rule exists
                raise EvaluatorError(f"no rule answered {message!r}")
            state_handle = result[1]
            started = _native.start_action_for_state(handle, state_handle)
            if not started:
                raise EvaluatorError(f"no rule fired for {message!r}")
            fired = list(json.loads(started[1]))
            following = _native.complete_and_start_action(handle, state_handle)
            while following:  # drain and complete anything else, then report it as a bug
                fired.extend(json.loads(following))
                following = _native.complete_and_start_action(handle, state_handle)
        if len(fired) != 1:
            raise EvaluatorError(f"expected exactly one rule to fire, got {fired!r}")
        return str(compiled.ruleset[fired[0]]["run"])

    def decide(
        self,
        compiled: CompiledSop,
        step: str,
        roles: Iterable[str],
        action: str,
        fields: Mapping[str, Any] | None = None,
        entries: Mapping[str, Any] | None = None,
    ) -> Decision:
        """Decide one action. ``fields`` are the case's values; ``entries`` what the actor fills in
        now (they count for ``requires`` and take precedence). Without ``entries``, the fields
        count as entries too (a question about a case in the abstract).
        """
        sop = compiled.sop
        try:
            values, given = prepare(sop, fields, entries)
        except FieldValueError as err:
            msg_id, msg_en = _message("invalid_field", field=err.name, problem=err.problem)
            return Decision(
                False, step, action, reason="invalid_field", message=msg_id, message_en=msg_en
            )
        message = {
            "sid": SESSION_ID,
            "step": step,
            "action": action,
            "r": {r: True for r in roles},
            "f": values,
            "e": given,
        }
        outcome = self._fire(compiled, message)
        return interpret(sop, outcome, step, action, values, roles, given)

    def available(
        self,
        compiled: CompiledSop,
        step: str,
        roles: Iterable[str],
        fields: Mapping[str, Any] | None = None,
    ) -> dict[str, Decision]:
        """Every action of the step with its decision for these roles (ignoring missing inputs)."""
        roles = list(roles)
        spec = compiled.sop.steps.get(step)
        if spec is None:
            return {}
        out: dict[str, Decision] = {}
        for name in spec.actions:
            out[name] = self.decide(compiled, step, roles, name, fields)
        return out

    def session_is_clean(self, compiled: CompiledSop) -> bool:
        """True when the evaluation session holds no pending events and no facts."""
        with self._lock:
            try:
                events = self._host.get_pending_events(compiled.ruleset_name, SESSION_ID)
                facts = self._host.get_facts(compiled.ruleset_name, SESSION_ID)
            except Exception:
                return True
            state = self._host.get_state(compiled.ruleset_name, SESSION_ID)
        return not events and not facts and "exception" not in state


def _roles_text(sop: Sop, roles: list[str]) -> str:
    return ", ".join(sop.roles[r].title or r for r in roles if r in sop.roles) or "-"


def interpret(
    sop: Sop,
    outcome: str,
    step: str,
    action: str,
    values: Mapping[str, Any],
    roles: Iterable[str],
    entries: Mapping[str, Any] | None = None,
) -> Decision:
    """Turn a fired rule's outcome code into a :class:`Decision` with a clerk-readable reason."""
    parts = outcome.split(":")
    kind = parts[0]
    spec = sop.steps.get(step)
    if kind in ("go", "stay"):
        assert spec is not None
        act = spec.actions[action]
        if act.branches:
            index = int(parts[3])
            return Decision(
                True,
                step,
                action,
                to=act.branches[index].to,
                branch=index,
                moves=True,
                fields=values,
            )
        if kind == "stay":
            return Decision(True, step, action, to=step, moves=False, fields=values)
        return Decision(True, step, action, to=act.to, moves=True, fields=values)
    code = parts[1] if len(parts) > 1 else "step"
    params: dict[str, Any] = {
        "step": step,
        "action": action,
        "sop": sop.sop,
        "version": sop.version,
    }
    if code == "step" or spec is None:
        reason = "unknown_step"
    elif code == "action":
        params["step_title"] = spec.title
        reason = "step_ended" if spec.terminal else "not_at_step"
    else:
        act = spec.actions[action]
        params["action_label"] = act.label or action
        params["step_title"] = spec.title
        if code == "role":
            reason = "not_your_role"
            params["roles"] = _roles_text(sop, sop.action_roles(spec, act))
        elif code == "condition":
            reason = "condition_false"
            params["condition"] = ex.to_text(act.when) if act.when is not None else "-"
        else:
            reason = "missing_fields"
            given = values if entries is None else entries
            missing = [f for f in required_fields(act) if f not in given]
            for branch in act.branches:  # fields the decision needs, even if not declared required
                if branch.when is not None:
                    missing.extend(sorted(ex.fields_of(branch.when) - set(values) - set(missing)))
            labels = {**BUILTIN_FIELDS, **sop.fields}
            params["fields"] = ", ".join(labels[f].label or f for f in missing) or "-"
            msg_id, msg_en = _message(reason, **params)
            return Decision(
                False,
                step,
                action,
                reason=reason,
                message=msg_id,
                message_en=msg_en,
                missing=tuple(missing),
                fields=values,
            )
    msg_id, msg_en = _message(reason, **params)
    return Decision(
        False, step, action, reason=reason, message=msg_id, message_en=msg_en, fields=values
    )
