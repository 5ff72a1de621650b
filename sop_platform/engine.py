"""The generic case engine: submit a case, act on it, list what an actor may do, read its history.

Each command is one transaction with the case row locked (PostgreSQL ``SELECT ... FOR UPDATE``;
SQLite ``BEGIN IMMEDIATE``). The compiled SOP decides through the evaluator; the engine writes the
case, one append-only event and the step visits. A refused command writes nothing and says why.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, case, func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from rules import expr as ex
from rules.evaluator import CompiledSop, Decision, FieldValueError, normalise_fields
from rules.model import RoleKind, Sop, Step
from sop_platform import outbox, visit_times
from sop_platform.cases import (
    UNKNOWN,
    Actor,
    CaseView,
    Conflict,
    EngineError,
    EventView,
    Grant,
    History,
    IdempotencyMismatch,
    InvalidSubmission,
    NewCase,
    NotFound,
    Offer,
    Refused,
    ReporterInfo,
    VisitView,
    clean_text,
    filled,
    submission_scope,
)
from sop_platform.db import is_sqlite, transaction
from sop_platform.deadlines import next_check
from sop_platform.models import (
    CaseEvent,
    CaseRow,
    EscalationTask,
    Reporter,
    StepVisit,
    VisitPause,
)
from sop_platform.outbox import STATUS_WORDS
from sop_platform.registry import Registry
from sop_platform.sweeper import paused_minutes
from sop_platform.telemetry import traced
from sop_platform.timekeeping import Clock

__all__ = [
    "Actor",
    "CaseEngine",
    "CaseView",
    "Conflict",
    "EngineError",
    "EventView",
    "Grant",
    "IdempotencyMismatch",
    "InvalidSubmission",
    "NewCase",
    "NotFound",
    "Offer",
    "Refused",
    "ReporterInfo",
    "VisitView",
    "route",
]

MAX_TEXT = 20_000


@dataclass
class _Case:
    """A case row as plain values: read and written with Core statements on the hot path."""

    id: int
    tracking_number: str
    region_id: str
    sop_id: str
    sop_version: str
    content_hash: str
    step: str
    status: str
    unit_key: str | None
    channel: str
    text: str
    fields: dict[str, Any]
    anonymous: bool
    confidential: bool
    revision: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    reporter_id: int | None

    @classmethod
    def of(cls, row: Any) -> _Case:
        return cls(**{name: getattr(row, name) for name in _CASE_COLUMNS})


_CASE_COLUMNS = tuple(f.name for f in dataclass_fields(_Case))
_CASES = CaseRow.__table__  # type: ignore[attr-defined]
_EVENTS = CaseEvent.__table__  # type: ignore[attr-defined]
_VISITS = StepVisit.__table__  # type: ignore[attr-defined]
_REPORTERS = Reporter.__table__  # type: ignore[attr-defined]
_PAUSES = VisitPause.__table__  # type: ignore[attr-defined]
_TASKS = EscalationTask.__table__  # type: ignore[attr-defined]

# Statements built once; each command only binds its values (as the SQL cache expects).
_SELECT_CASE = select(*(_CASES.c[name] for name in _CASE_COLUMNS)).where(
    _CASES.c.id == bindparam("b_id")
)
_SELECT_CASE_FOR_UPDATE = _SELECT_CASE.with_for_update()
_INSERT_EVENT = insert(_EVENTS)
_INSERT_CASE = insert(_CASES).returning(_CASES.c.id)
_INSERT_VISIT = insert(_VISITS)
_UPDATE_CASE = (
    update(_CASES)
    .where(_CASES.c.id == bindparam("b_id"))
    .values(
        step=bindparam("b_step"),
        status=bindparam("b_status"),
        unit_key=bindparam("b_unit"),
        fields=bindparam("b_fields", type_=_CASES.c.fields.type),
        revision=bindparam("b_revision"),
        updated_at=bindparam("b_updated", type_=_CASES.c.updated_at.type),
        closed_at=bindparam("b_closed", type_=_CASES.c.closed_at.type),
    )
)
_CLOSE_VISIT = (
    update(_VISITS)
    .where(_VISITS.c.case_id == bindparam("b_id"), _VISITS.c.left_at.is_(None))
    .values(
        left_at=bindparam("b_now", type_=_VISITS.c.left_at.type),
        outcome=case(
            (_VISITS.c.due_at.is_(None), None),
            (_VISITS.c.due_at >= bindparam("b_now", type_=_VISITS.c.due_at.type), "met"),
            else_="breached",
        ),
    )
    .returning(*_VISITS.c)
)


class CaseEngine:
    """Commands on cases. Each is one transaction: the hot path uses Core statements (one per
    row written, as a hand-written transaction would) rather than the ORM's unit of work."""

    def __init__(self, engine: Engine, registry: Registry, clock: Clock) -> None:
        self.engine = engine
        self.registry = registry
        self.clock = clock

    # --- reading --------------------------------------------------------------------------

    def get(self, case_id: int) -> CaseView:
        with transaction(self.engine) as session:
            row = session.get(CaseRow, case_id)
            if row is None:
                raise NotFound(f"Kasus {case_id} tidak ditemukan.", f"Case {case_id} not found.")
            return _view(session, _Case.of(row))

    def find(self, tracking_number: str) -> CaseView:
        with transaction(self.engine) as session:
            row = session.exec(
                select(CaseRow).where(CaseRow.tracking_number == tracking_number)
            ).first()
            if row is None:
                raise NotFound(
                    f"Nomor pelacakan {tracking_number} tidak ditemukan.",
                    f"Tracking number {tracking_number} not found.",
                )
            return _view(session, _Case.of(row))

    def reporter(self, case_id: int) -> Reporter | None:
        """The reporter's identity; ``None`` for anonymous cases (the row is never read)."""
        with transaction(self.engine) as session:
            row = session.get(CaseRow, case_id)
            if row is None or row.anonymous or row.reporter_id is None:
                return None
            return session.get(Reporter, row.reporter_id)

    # --- submitting -----------------------------------------------------------------------

    def submit(self, new: NewCase) -> CaseView:
        try:
            compiled = self.registry.latest(new.sop_id)
        except KeyError:
            raise NotFound(
                f"SOP '{new.sop_id}' tidak dikenal.", f"Unknown SOP '{new.sop_id}'."
            ) from None
        sop = compiled.sop
        fields = self._check_submission(sop, new)
        request_hash = new.request_hash()
        now = self.clock.now()
        try:
            with transaction(self.engine) as session:
                if new.idempotency_key:
                    existing = self._by_idempotency_key(session, new.idempotency_key, request_hash)
                    if existing is not None:
                        return existing
                return self._insert_case(session, compiled, new, fields, request_hash, now)
        except IntegrityError:
            if new.idempotency_key:  # a concurrent retry with the same key won the race
                with transaction(self.engine) as session:
                    existing = self._by_idempotency_key(session, new.idempotency_key, request_hash)
                if existing is not None:
                    return existing
            raise

    def _by_idempotency_key(self, session: Session, key: str, request_hash: str) -> CaseView | None:
        row = session.exec(select(CaseRow).where(CaseRow.idempotency_key == key)).first()
        if row is None:
            return None
        if row.request_hash != request_hash:
            raise IdempotencyMismatch(
                "Kunci idempotensi ini sudah dipakai untuk laporan lain.",
                "This idempotency key was already used for a different submission.",
                case=row.tracking_number,
            )
        return _view(session, _Case.of(row), self.engine)

    def _check_submission(self, sop: Sop, new: NewCase) -> dict[str, Any]:
        sub = sop.submission
        problems: list[tuple[str, str]] = []  # (Bahasa Indonesia, English)
        if sub.channels and new.channel not in sub.channels:
            listed = ", ".join(sub.channels)
            problems.append(
                (
                    f"kanal '{new.channel}' tidak dilayani SOP ini (kanal: {listed})",
                    f"channel '{new.channel}' is not served by this SOP (channels: {listed})",
                )
            )
        text = new.text.strip()
        if not text:
            problems.append(("isi laporan kosong", "the report's text is empty"))
        elif len(text) > MAX_TEXT:
            problems.append(
                (
                    f"isi laporan paling banyak {MAX_TEXT} karakter",
                    f"the report's text may have at most {MAX_TEXT} characters",
                )
            )
        if new.anonymous and not sub.anonymous_allowed:
            problems.append(
                ("SOP ini tidak menerima laporan anonim", "this SOP takes no anonymous reports")
            )
        if new.confidential and not sub.confidential_allowed:
            problems.append(
                ("SOP ini tidak menerima laporan rahasia", "this SOP takes no confidential reports")
            )
        if sub.identity_any_of and not new.anonymous:
            given = new.reporter.given() if new.reporter else set()
            if not given & set(sub.identity_any_of):
                kinds = ", ".join(sub.identity_any_of)
                problems.append(
                    (
                        f"identitas pelapor wajib diisi, salah satu dari: {kinds}",
                        f"the reporter's identity is required, one of: {kinds}",
                    )
                )
        reporter_role = sop.roles.get(sub.by)
        units: frozenset[str] | None = None
        if reporter_role is not None and reporter_role.kind is not RoleKind.citizen:
            actor = new.submitted_by
            allowed, units = (False, None) if actor is None else submission_scope(actor, sop)
            if not allowed:
                title = reporter_role.title or sub.by
                problems.append(
                    (
                        f"laporan SOP ini disampaikan oleh {title}; masuk sebagai {title}",
                        f"reports of this SOP are made by the {title}; sign in as {title}",
                    )
                )
        fields: dict[str, Any] = {}
        try:
            fields = normalise_fields(sop, {k: v for k, v in new.fields.items() if k in sop.fields})
        except FieldValueError as err:
            problems.append(
                (
                    f"isian '{err.name}' tidak valid: {err.problem}",
                    f"entry '{err.name}' is not valid: {err.problem}",
                )
            )
        # Unit staff record cases for their own unit only: a case routed elsewhere would leave
        # their scope the moment it is made.
        routed = route(sop, fields)
        if units is not None and routed not in units:
            mine = ", ".join(sorted(units))
            problems.append(
                (
                    f"laporan ini diteruskan ke unit '{routed}', di luar unit Anda ({mine})",
                    f"this report goes to unit '{routed}', outside your units ({mine})",
                )
            )
        for name, spec in sop.fields.items():
            if spec.required and name not in fields:
                label = spec.label or name
                problems.append((f"isian '{label}' wajib diisi", f"entry '{label}' is required"))
        if problems:
            raise InvalidSubmission(
                "Laporan belum dapat diterima: " + "; ".join(p[0] for p in problems) + ".",
                "The report cannot be accepted yet: " + "; ".join(p[1] for p in problems) + ".",
                problems=[p[0] for p in problems],
                problems_en=[p[1] for p in problems],
            )
        return fields

    def _insert_case(
        self,
        session: Session,
        compiled: CompiledSop,
        new: NewCase,
        fields: dict[str, Any],
        request_hash: str,
        now: datetime,
    ) -> CaseView:
        sop = compiled.sop
        conn = session.connection()
        reporter_id = None
        if new.reporter is not None and not new.anonymous and new.reporter.given():
            reporter_id = conn.execute(
                insert(_REPORTERS)
                .values(
                    name=clean_text(new.reporter.name),
                    nik=clean_text(new.reporter.nik),
                    email=clean_text(new.reporter.email),
                    phone=clean_text(new.reporter.phone),
                    extra={k: v.strip() for k, v in new.reporter.extra.items() if filled(v)},
                )
                .returning(_REPORTERS.c.id)
            ).scalar_one()
        unit = route(sop, fields)
        start = sop.steps[sop.start]
        values: dict[str, Any] = {
            "tracking_number": _tracking_number(sop.region, now),
            "region_id": sop.region,
            "sop_id": sop.sop,
            "sop_version": sop.version,
            "content_hash": compiled.content_hash,
            "step": sop.start,
            "status": start.status.value,
            "unit_key": unit,
            "channel": new.channel,
            "text": new.text.strip(),
            "fields": fields,
            "anonymous": new.anonymous,
            "confidential": new.confidential,
            "revision": 1,
            "created_at": now,
            "updated_at": now,
            "closed_at": None,
            "reporter_id": reporter_id,
        }
        case_id = conn.execute(
            _INSERT_CASE,
            {
                **values,
                "submitted_by_user_id": new.submitted_by.user_id if new.submitted_by else None,
                "idempotency_key": new.idempotency_key,
                "request_hash": request_hash,
            },
        ).scalar_one()
        record = _Case(id=case_id, **values)
        actor = new.submitted_by
        conn.execute(
            _INSERT_EVENT,
            {
                "case_id": case_id,
                "seq": 1,
                "at": now,
                "kind": "submit",
                "actor_user_id": actor.user_id if actor else None,
                "actor_name": actor.name if actor else ("Anonim" if new.anonymous else "Pelapor"),
                "role": sop.submission.by,
                "action": "submit",
                "from_step": None,
                "to_step": sop.start,
                "unit_key": unit,
                "payload": traced({"fields": fields, "informs": list(start.informs)}),
            },
        )
        entered = self._enter(conn, record, sop, sop.start, now)
        outbox.write(
            conn, self._notices(record, sop, sop.start, entered, now, status_changed=False)
        )
        return _view(session, record, self.engine, open_visit=entered)

    # --- acting ---------------------------------------------------------------------------

    def available_actions(self, case_id: int, actor: Actor) -> list[Offer]:
        view = self.get(case_id)
        compiled = self.registry.by_hash(view.content_hash)
        sop = compiled.sop
        roles = actor.roles_for(view.region, view.unit, sop, view.id)
        offers: list[Offer] = []
        step = sop.steps.get(view.step)
        if step is None or not roles:
            return offers
        for name, decision in self.registry.evaluator.available(
            compiled, view.step, roles, view.fields
        ).items():
            if decision.allowed or decision.reason == "missing_fields":
                action = step.actions[name]
                requires = list(action.requires)
                if action.reroute and "unit" not in requires:
                    requires.append("unit")
                offers.append(
                    Offer(
                        name,
                        action.label or name,
                        tuple(requires),
                        action.reroute,
                        bool(action.to or action.branches),
                    )
                )
        return offers

    def act(
        self,
        case_id: int,
        actor: Actor,
        action: str,
        payload: Mapping[str, Any] | None = None,
        expected_revision: int | None = None,
    ) -> CaseView:
        """Carry out one action; raise :class:`Refused` / :class:`Conflict` and write nothing."""
        with transaction(self.engine) as session:
            row = self._lock_case(session, case_id)
            if expected_revision is not None and row.revision != expected_revision:
                last = session.exec(
                    select(CaseEvent)
                    .where(CaseEvent.case_id == case_id)
                    .order_by(col(CaseEvent.seq).desc())
                ).first()
                who_id = f" oleh {last.actor_name}" if last else ""
                who_en = f" by {last.actor_name}" if last else ""
                raise Conflict(
                    f"Kasus {row.tracking_number} baru saja diubah{who_id}; "
                    "muat ulang lalu coba lagi.",
                    f"Case {row.tracking_number} was just changed{who_en}; reload and try again.",
                    revision=row.revision,
                )
            compiled = self.registry.by_hash(row.content_hash, conn=session.connection())
            sop = compiled.sop
            roles = actor.roles_for(row.region_id, row.unit_key, sop, row.id)
            entries = self._entries(sop, row.step, action, payload or {})
            fields = dict(row.fields)
            decision = self.registry.evaluator.decide(
                compiled, row.step, roles, action, fields, entries
            )
            if not decision.allowed:
                raise self._refusal(compiled, row, actor, action, fields, entries, decision)
            conn = session.connection()
            entered, left = self._apply(conn, row, sop, actor, roles, action, decision, entries)
            open_visit = entered if decision.moves else UNKNOWN
            return _view(session, row, self.engine, open_visit=open_visit, left_visit=left)

    # --- pauses and interventions ---------------------------------------------------------

    def pause(self, case_id: int, actor: Actor, reason: str, note: str | None = None) -> CaseView:
        """Stop the clock of the case's current step, for one of the reasons the step declares."""
        with transaction(self.engine) as session:
            conn = session.connection()
            row = self._lock_case(session, case_id)
            sop = self.registry.by_hash(row.content_hash, conn=session.connection()).sop
            step = sop.steps.get(row.step)
            self._require_step_role(row, sop, actor)
            if step is None or reason not in step.pauses:
                choices = ", ".join(f"{k} ({v})" for k, v in (step.pauses if step else {}).items())
                raise Refused(
                    f"Tahap ini tidak dapat dijeda dengan alasan '{reason}'"
                    + (f"; pilihan: {choices}." if choices else "; tahap ini tidak dapat dijeda."),
                    f"This step cannot be paused for '{reason}'"
                    + (f"; choices: {choices}." if choices else "; it cannot be paused."),
                    reason="invalid_field",
                )
            visit = self._open_visit(conn, row.id)
            if visit is None or visit["paused_at"] is not None:
                raise Refused(
                    "Jam tahap ini sudah berhenti.",
                    "This step's clock is already stopped.",
                    reason="already_paused",
                )
            now = self.clock.now()
            conn.execute(
                update(_VISITS)
                .where(_VISITS.c.id == visit["id"])
                .values(paused_at=now, paused_reason=reason, next_check_at=None)
            )
            conn.execute(
                insert(_PAUSES),
                {
                    "visit_id": visit["id"],
                    "case_id": row.id,
                    "reason": reason,
                    "paused_at": now,
                    "resumed_at": None,
                    "paused_by": actor.name,
                    "resumed_by": None,
                    "shifted_minutes": None,
                },
            )
            row.status = "waiting"
            outbox.write(conn, self._status_notice(row, sop, now))
            self._system_change(conn, row, actor, "pause", {"reason": reason, "note": note}, now)
            return _view(session, row, self.engine)

    def resume(self, case_id: int, actor: Actor, note: str | None = None) -> CaseView:
        """Restart the clock; the deadline moves by the paused span on the step's own clock."""
        with transaction(self.engine) as session:
            conn = session.connection()
            row = self._lock_case(session, case_id)
            sop = self.registry.by_hash(row.content_hash, conn=session.connection()).sop
            self._require_step_role(row, sop, actor)
            visit = self._open_visit(conn, row.id)
            if visit is None or visit["paused_at"] is None:
                raise Refused(
                    "Jam tahap ini tidak sedang berhenti.",
                    "This step's clock is not stopped.",
                    reason="not_paused",
                )
            now = self.clock.now()
            step = sop.steps[row.step]
            new_due, shifted = self._unpause(conn, row, sop, visit, actor.name, now)
            row.status = step.status.value
            outbox.write(conn, self._status_notice(row, sop, now))
            payload = {
                "reason": visit["paused_reason"],
                "note": note,
                "shifted_minutes": shifted,
                "due_at": new_due.isoformat() if new_due else None,
            }
            self._system_change(conn, row, actor, "resume", payload, now)
            return _view(session, row, self.engine)

    def _unpause(
        self, conn: Connection, row: _Case, sop: Sop, visit: Any, who: str, now: datetime
    ) -> tuple[datetime | None, float]:
        """End the open visit's pause: move its deadline by the paused span on the step's own
        clock, close the pause record, and reschedule the sweeper's next look."""
        step = sop.steps[row.step]
        clock = step.effective_clock
        calendar = self.registry.calendar(row.region_id)
        due = visit["due_at"]
        new_due = calendar.resumed_due(due, visit["paused_at"], now, clock) if due else None
        shifted = (new_due - due).total_seconds() / 60 if new_due and due else 0.0
        paused_before = paused_minutes(conn, visit["id"], calendar, clock)
        check = next_check(
            sop,
            step,
            entered_at=visit["entered_at"],
            due_at=new_due,
            warnings_sent=visit["warnings_sent"],
            breached=visit["breached_at"] is not None,
            escalation_level=visit["escalation_level"],
            calendar=calendar,
            paused_minutes=paused_before + calendar.elapsed_minutes(visit["paused_at"], now, clock),
        )
        conn.execute(
            update(_VISITS)
            .where(_VISITS.c.id == visit["id"])
            .values(paused_at=None, paused_reason=None, due_at=new_due, next_check_at=check)
        )
        conn.execute(
            update(_PAUSES)
            .where(_PAUSES.c.visit_id == visit["id"], _PAUSES.c.resumed_at.is_(None))
            .values(resumed_at=now, resumed_by=who, shifted_minutes=shifted)
        )
        return new_due, shifted

    def intervene(
        self,
        case_id: int,
        actor: Actor,
        kind: str,
        reason: str,
        *,
        unit: str | None = None,
        to_step: str | None = None,
        instruction: str | None = None,
    ) -> CaseView:
        """An intervention by a role the SOP names: re-assign the unit, force a step, or add an
        instruction. Always with a reason; always an audited event."""
        with transaction(self.engine) as session:
            conn = session.connection()
            row = self._lock_case(session, case_id)
            sop = self.registry.by_hash(row.content_hash, conn=session.connection()).sop
            allowed = set(sop.interventions.by) if sop.interventions else set()
            roles = sorted(allowed & set(actor.roles_for(row.region_id, row.unit_key, sop, row.id)))
            if not roles and allowed & set(actor.roles_anywhere(row.region_id)):
                raise self._out_of_scope(row)
            if not roles:
                names = ", ".join(sop.roles[r].title or r for r in sorted(allowed)) or "-"
                raise Refused(
                    f"Intervensi pada SOP ini hanya oleh: {names}.",
                    f"Only these roles may intervene in this SOP: {names}.",
                    reason="not_your_role",
                )
            if not reason or not reason.strip():
                raise Refused(
                    "Alasan intervensi wajib diisi.",
                    "An intervention needs a reason.",
                    reason="missing_fields",
                    missing=["alasan"],
                )
            now = self.clock.now()
            region = self.registry.region(row.region_id)
            payload: dict[str, Any] = {
                "kind": kind,
                "reason": reason.strip(),
                "from_unit": row.unit_key,
                "from_step": row.step,
            }
            notices: list[dict[str, Any]] = []
            if kind == "reassign":
                if unit not in region.units:
                    raise Refused(
                        f"Perangkat daerah '{unit}' tidak dikenal.",
                        f"Unknown unit '{unit}'.",
                        reason="invalid_field",
                    )
                row.unit_key = unit
                payload["unit"] = unit
                conn.execute(
                    update(_VISITS)
                    .where(
                        _VISITS.c.case_id == row.id,
                        _VISITS.c.left_at.is_(None),
                        _VISITS.c.unit_key.is_not(None),
                    )
                    .values(unit_key=unit)
                )
                visit = self._open_visit(conn, row.id)
                notices = self._notices(
                    row,
                    sop,
                    row.step,
                    None if visit is None else _as_view(visit),
                    now,
                    status_changed=False,
                )
            elif kind == "force_step":
                if to_step not in sop.steps:
                    raise Refused(
                        f"Tahap '{to_step}' tidak ada dalam SOP ini.",
                        f"Step '{to_step}' is not in this SOP.",
                        reason="invalid_field",
                    )
                previous = row.status
                self._leave(conn, row, now)
                row.step = to_step
                target = sop.steps[to_step]
                row.status = target.status.value
                row.closed_at = now if target.terminal else None
                entered = self._enter(conn, row, sop, to_step, now)
                notices = self._notices(
                    row, sop, to_step, entered, now, status_changed=row.status != previous
                )
                payload["to_step"] = to_step
            elif kind == "instruct":
                if not instruction or not instruction.strip():
                    raise Refused(
                        "Isi instruksi wajib diisi.",
                        "The instruction is empty.",
                        reason="missing_fields",
                        missing=["instruksi"],
                    )
                payload["instruction"] = instruction.strip()
                step = sop.steps.get(row.step)
                targets = [r for r in ([step.by] if step and step.by else []) if r in sop.roles]
                notices = [
                    outbox.row(
                        now=now,
                        region=row.region_id,
                        kind="intervention",
                        audience="role",
                        role=r,
                        case_id=row.id,
                        unit=row.unit_key if sop.roles[r].kind is RoleKind.unit_staff else None,
                        params={
                            "tracking": row.tracking_number,
                            "actor": actor.name,
                            "what": "instruksi",
                            "reason": payload["instruction"],
                        },
                    )
                    for r in targets
                ]
            else:
                raise Refused(
                    f"Jenis intervensi '{kind}' tidak dikenal (reassign, force_step, instruct).",
                    f"Unknown intervention '{kind}'.",
                    reason="invalid_field",
                )
            conn.execute(
                update(_TASKS)
                .where(_TASKS.c.case_id == row.id, _TASKS.c.resolved_at.is_(None))
                .values(resolved_at=now)
            )
            outbox.write(conn, notices)
            self._system_change(conn, row, actor, "intervention", payload, now, role=roles[0])
            return _view(session, row, self.engine)

    def open_escalations(self, actor: Actor) -> list[dict[str, Any]]:
        """Escalations waiting on the actor's roles (their unit's, for unit staff)."""
        with transaction(self.engine) as session:
            rows = (
                session.connection()
                .execute(
                    select(_TASKS, _CASES.c.tracking_number, _CASES.c.sop_id)
                    .join(_VISITS, _VISITS.c.id == _TASKS.c.visit_id)
                    .join(_CASES, _CASES.c.id == _TASKS.c.case_id)
                    .where(_TASKS.c.resolved_at.is_(None), _VISITS.c.left_at.is_(None))
                    .order_by(_TASKS.c.created_at)
                )
                .mappings()
                .all()
            )
        out = []
        for r in rows:
            for g in actor.grants:
                if (
                    g.region == r["region_id"]
                    and g.role == r["role"]
                    and (r["unit_key"] is None or g.unit == r["unit_key"])
                ):
                    out.append(dict(r))
                    break
        return out

    def _out_of_scope(self, row: _Case) -> Refused:
        unit = self.registry.region(row.region_id).units.get(row.unit_key or "")
        name = unit.name if unit else "-"
        return Refused(
            f"Kasus ini ditangani oleh {name}; Anda tidak bertugas di perangkat daerah itu.",
            f"This case belongs to {name}; you do not work for that unit.",
            reason="out_of_scope",
        )

    def _require_step_role(self, row: _Case, sop: Sop, actor: Actor) -> None:
        step = sop.steps.get(row.step)
        allowed = {step.by} if step and step.by else set()
        for action in step.actions.values() if step else ():
            allowed.update(action.by)
        if not allowed & set(actor.roles_for(row.region_id, row.unit_key, sop, row.id)):
            names = ", ".join(sop.roles[r].title or r for r in sorted(allowed) if r in sop.roles)
            raise Refused(
                f"Hanya {names or '-'} yang dapat menghentikan atau menjalankan jam tahap ini.",
                f"Only {names or '-'} may stop or restart this step's clock.",
                reason="not_your_role",
            )

    @staticmethod
    def _open_visit(conn: Connection, case_id: int) -> Any:
        return (
            conn.execute(
                select(_VISITS).where(_VISITS.c.case_id == case_id, _VISITS.c.left_at.is_(None))
            )
            .mappings()
            .first()
        )

    @staticmethod
    def _system_change(
        conn: Connection,
        row: _Case,
        actor: Actor,
        kind: str,
        payload: dict[str, Any],
        now: datetime,
        role: str | None = None,
    ) -> None:
        """Record an event that is not an SOP action (pause, resume, intervention)."""
        row.revision += 1
        row.updated_at = now
        conn.execute(
            _INSERT_EVENT,
            {
                "case_id": row.id,
                "seq": row.revision,
                "at": now,
                "kind": kind,
                "actor_user_id": actor.user_id,
                "actor_name": actor.name,
                "role": role,
                "action": None,
                "from_step": payload.get("from_step", row.step),
                "to_step": row.step,
                "unit_key": row.unit_key,
                "payload": traced(payload),
            },
        )
        _save(conn, row)

    @staticmethod
    def _entries(
        sop: Sop, step_id: str, action_name: str, payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        """What the actor filled in, limited to what the action takes (``requires``, ``accepts``,
        ``unit`` when re-routing). Anything else is refused: an action never overwrites the
        citizen's submitted fields or the case's unit by the way."""
        step = sop.steps.get(step_id)
        action = step.actions.get(action_name) if step else None
        if action is None:
            return dict(payload)  # the evaluator says why the action is not possible here
        taken = set(action.requires) | set(action.accepts) | ({"unit"} if action.reroute else set())
        extra = sorted(k for k, v in payload.items() if k not in taken and v not in (None, ""))
        if extra:
            names = ", ".join(extra)
            label = action.label or action_name
            raise Refused(
                f"Isian {names} tidak dipakai pada tindakan '{label}'.",
                f"Entry {names} is not taken by action '{label}'.",
                reason="invalid_field",
            )
        return {k: v for k, v in payload.items() if k in taken}

    def _lock_case(self, session: Session, case_id: int) -> _Case:
        # SQLite: BEGIN IMMEDIATE already holds the write lock; PostgreSQL locks the row.
        query = _SELECT_CASE if is_sqlite(self.engine) else _SELECT_CASE_FOR_UPDATE
        found = session.connection().execute(query, {"b_id": case_id}).mappings().first()
        if found is None:
            raise NotFound(f"Kasus {case_id} tidak ditemukan.", f"Case {case_id} not found.")
        return _Case(**found)

    def _refusal(
        self,
        compiled: CompiledSop,
        row: _Case,
        actor: Actor,
        action: str,
        fields: Mapping[str, Any],
        entries: Mapping[str, Any],
        decision: Decision,
    ) -> Refused:
        if decision.reason == "not_your_role":
            # Would the actor's roles allow it in another unit? Then say it is a matter of scope.
            anywhere = actor.roles_anywhere(row.region_id)
            wider = self.registry.evaluator.decide(
                compiled, row.step, anywhere, action, fields, entries
            )
            if wider.allowed or wider.reason == "missing_fields":
                return self._out_of_scope(row)
        return Refused(
            decision.message,
            decision.message_en,
            reason=decision.reason,
            missing=list(decision.missing),
        )

    def _apply(
        self,
        conn: Connection,
        row: _Case,
        sop: Sop,
        actor: Actor,
        roles: Sequence[str],
        action_name: str,
        decision: Decision,
        entries: Mapping[str, Any],
    ) -> tuple[VisitView | None, VisitView | None]:
        """Write the decided change; return the visit entered and the one left (if it moved)."""
        now = self.clock.now()
        step = sop.steps[row.step]
        action = step.actions[action_name]
        allowed = set(sop.action_roles(step, action))
        role = next(r for r in roles if r in allowed)
        entries = normalise_fields(sop, entries)  # typed as declared
        kind = "transition" if decision.moves else ("report" if action.report_to else "record")
        if action.reroute:
            new_unit = str(entries.get("unit", ""))
            region = self.registry.region(row.region_id)
            if new_unit not in region.units:
                raise Refused(
                    f"Perangkat daerah '{new_unit}' tidak dikenal.",
                    f"Unknown unit '{new_unit}'.",
                    reason="invalid_field",
                )
            row.unit_key = new_unit
        # The SOP's own fields (e.g. a decision like `teratasi`) are kept on the case; built-in
        # entries (alasan, jawaban, ...) and the unit live in the event only.
        stored = {k: v for k, v in entries.items() if k in sop.fields}
        if stored:
            row.fields = {**row.fields, **stored}
        from_step = row.step
        row.revision += 1
        row.updated_at = now
        event_payload: dict[str, Any] = {"entries": entries}
        if action.report_to:
            event_payload["report_to"] = list(action.report_to)
        if decision.branch is not None:
            event_payload["branch"] = decision.branch
        entered: VisitView | None = None
        left: VisitView | None = None
        notices: list[dict[str, Any]] = []
        if decision.moves and decision.to is not None:
            if row.status == "waiting":  # perhaps paused: the pause ends with the step
                visit = self._open_visit(conn, row.id)
                if visit is not None and visit["paused_at"] is not None:
                    self._unpause(conn, row, sop, visit, actor.name, now)
            left = self._leave(conn, row, now)
            previous_status = row.status
            row.step = decision.to
            target = sop.steps[decision.to]
            row.status = target.status.value
            row.closed_at = now if target.terminal else None
            if target.informs:
                event_payload["informs"] = list(target.informs)
            entered = self._enter(conn, row, sop, decision.to, now)
            notices = self._notices(
                row, sop, decision.to, entered, now, status_changed=row.status != previous_status
            )
        elif action.report_to:
            notices = [
                self._notice(row, sop, role, "assignment", now, row.step, None)
                for role in action.report_to
                if sop.roles[role].kind is not RoleKind.citizen
            ]
            if any(sop.roles[r].kind is RoleKind.citizen for r in action.report_to):
                notices.extend(self._status_notice(row, sop, now))
        outbox.write(conn, notices)
        conn.execute(
            _INSERT_EVENT,
            {
                "case_id": row.id,
                "seq": row.revision,
                "at": now,
                "kind": kind,
                "actor_user_id": actor.user_id,
                "actor_name": actor.name,
                "role": role,
                "action": action_name,
                "from_step": from_step,
                "to_step": row.step,
                "unit_key": row.unit_key,
                "payload": traced(event_payload),
            },
        )
        _save(conn, row)
        return entered, left

    # --- notifications --------------------------------------------------------------------

    def _notice(
        self,
        row: _Case,
        sop: Sop,
        role: str,
        kind: str,
        now: datetime,
        step_id: str,
        due: datetime | None,
    ) -> dict[str, Any]:
        unit = row.unit_key if sop.roles[role].kind is RoleKind.unit_staff else None
        due_text = self.registry.local_text(due, row.region_id) if due else None
        params = {
            "tracking": row.tracking_number,
            "sop_title": sop.title,
            "step_title": sop.steps[step_id].title if step_id in sop.steps else step_id,
            "due_text_id": f" Batas waktu: {due_text}." if due_text else "",
            "due_text_en": f" Due: {due_text}." if due_text else "",
        }
        return outbox.row(
            now=now,
            region=row.region_id,
            kind=kind,
            audience="role",
            params=params,
            role=role,
            unit=unit,
            case_id=row.id,
        )

    def _notices(
        self,
        row: _Case,
        sop: Sop,
        step_id: str,
        entered: VisitView | None,
        now: datetime,
        *,
        status_changed: bool,
    ) -> list[dict[str, Any]]:
        """Who hears of a case reaching a step: its responsible role and the roles it informs
        (assignment), and the reporter when the case's status changed."""
        step = sop.steps[step_id]
        due = entered.due_at if entered else None
        roles = [r for r in dict.fromkeys([step.by, *step.informs]) if r and r in sop.roles]
        rows = [
            self._notice(row, sop, role, "assignment", now, step_id, due)
            for role in roles
            if sop.roles[role].kind is not RoleKind.citizen
        ]
        citizen_step = any(sop.roles[r].kind is RoleKind.citizen for r in roles)
        if status_changed or citizen_step:
            rows.extend(self._status_notice(row, sop, now))
        return rows

    @staticmethod
    def _status_notice(row: _Case, sop: Sop, now: datetime) -> list[dict[str, Any]]:
        """Tell an identified reporter where their case stands (never an anonymous one)."""
        if row.reporter_id is None or row.anonymous:
            return []
        words = STATUS_WORDS.get(row.status, (row.status, row.status))
        step = sop.steps.get(row.step)
        params = {
            "tracking": row.tracking_number,
            "status_id": words[0],
            "status_en": words[1],
            "step_title": step.title if step else row.step,
        }
        return [
            outbox.row(
                now=now,
                region=row.region_id,
                kind="status",
                audience="reporter",
                params=params,
                case_id=row.id,
            )
        ]

    # --- step visits ----------------------------------------------------------------------

    def _enter(
        self, conn: Connection, row: _Case, sop: Sop, step_id: str, now: datetime
    ) -> VisitView | None:
        """Open a visit of the step (closed at once for an end step); return it while open."""
        step: Step = sop.steps[step_id]
        role_kind = sop.roles[step.by].kind if step.by and step.by in sop.roles else None
        due = clock = version = check = None
        if step.limit is not None and not step.terminal:
            calendar = self.registry.calendar(row.region_id)
            clock = step.effective_clock
            due = calendar.due(now, step.limit, clock)
            version = calendar.version
            check = next_check(
                sop,
                step,
                entered_at=now,
                due_at=due,
                warnings_sent=0,
                breached=False,
                escalation_level=0,
                calendar=calendar,
            )
        visit = VisitView(
            step=step_id,
            role=step.by,
            unit=row.unit_key if role_kind is RoleKind.unit_staff else None,
            entered_at=now,
            left_at=now if step.terminal else None,
            due_at=due,
            limit_text=step.limit.text if step.limit else None,
            clock=clock.value if clock else None,
            calendar_version=version,
            outcome=None,
        )
        conn.execute(
            _INSERT_VISIT,
            {
                "case_id": row.id,
                "step": visit.step,
                "role": visit.role,
                "unit_key": visit.unit,
                "entered_at": visit.entered_at,
                "left_at": visit.left_at,
                "due_at": visit.due_at,
                "limit_text": visit.limit_text,
                "clock": visit.clock,
                "calendar_version": visit.calendar_version,
                "outcome": None,
                "next_check_at": check,
                "warnings_sent": 0,
                "breached_at": None,
                "escalation_level": 0,
                "paused_at": None,
                "paused_reason": None,
                # an end step's visit opens and closes at once: it took no time
                "elapsed_minutes": 0.0 if step.terminal else None,
            },
        )
        return visit if visit.left_at is None else None

    def _leave(self, conn: Connection, row: _Case, now: datetime) -> VisitView | None:
        """Close the open visit, met or breached, in one UPDATE ... RETURNING."""
        closed = conn.execute(_CLOSE_VISIT, {"b_id": row.id, "b_now": now}).mappings().first()
        if closed is None:
            return None
        # The time taken is stored now, on the calendar that set the deadline: reports then sum
        # and rank stored minutes instead of replaying every visit's office hours.
        visit_times.record(conn, self.registry.calendar(row.region_id), closed)
        if closed["escalation_level"]:  # its escalations are answered: the case moved on
            conn.execute(
                update(_TASKS)
                .where(_TASKS.c.visit_id == closed["id"], _TASKS.c.resolved_at.is_(None))
                .values(resolved_at=now)
            )
        return _as_view(closed)


def _save(conn: Connection, row: _Case) -> None:
    """Write the case's changed columns (one UPDATE, statement built once)."""
    conn.execute(
        _UPDATE_CASE,
        {
            "b_id": row.id,
            "b_step": row.step,
            "b_status": row.status,
            "b_unit": row.unit_key,
            "b_fields": row.fields,
            "b_revision": row.revision,
            "b_updated": row.updated_at,
            "b_closed": row.closed_at,
        },
    )


def route(sop: Sop, fields: Mapping[str, Any]) -> str | None:
    """The unit the SOP's routing rules assign (first rule that holds), if any."""
    for rule in sop.routing:
        if rule.otherwise or (rule.when is not None and ex.evaluate(rule.when, fields)):
            return rule.unit
    return None


_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone


def _tracking_number(region: str, now: datetime) -> str:
    suffix = "".join(secrets.choice(_ALPHABET) for _ in range(6))
    return f"{region[:3].upper()}-{now:%y%m%d}-{suffix}"


def _as_view(v: Any) -> VisitView:
    return VisitView(
        v["step"],
        v["role"],
        v["unit_key"],
        v["entered_at"],
        v["left_at"],
        v["due_at"],
        v["limit_text"],
        v["clock"],
        v["calendar_version"],
        v["outcome"],
    )


def _event_view(e: CaseEvent) -> EventView:
    return EventView(
        e.seq,
        e.at,
        e.kind,
        e.actor_name,
        e.role,
        e.action,
        e.from_step,
        e.to_step,
        e.unit_key,
        dict(e.payload),
    )


def _visit_view(v: StepVisit) -> VisitView:
    return VisitView(
        v.step,
        v.role,
        v.unit_key,
        v.entered_at,
        v.left_at,
        v.due_at,
        v.limit_text,
        v.clock,
        v.calendar_version,
        v.outcome,
    )


def _read_history(
    session: Session, case_id: int
) -> tuple[tuple[EventView, ...], tuple[VisitView, ...]]:
    events = session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.seq))
    ).all()
    visits = session.exec(
        select(StepVisit).where(StepVisit.case_id == case_id).order_by(col(StepVisit.id))
    ).all()
    return tuple(map(_event_view, events)), tuple(map(_visit_view, visits))


def _view(
    session: Session,
    row: _Case,
    engine: Engine | None = None,
    open_visit: object = UNKNOWN,
    left_visit: VisitView | None = None,
) -> CaseView:
    """The case as a plain snapshot. With ``engine``, its history is read later, on demand;
    without, it is read now in ``session``."""
    case_id = row.id
    if engine is None:
        history = History(None, _read_history(session, case_id))
    else:

        def loader() -> tuple[tuple[EventView, ...], tuple[VisitView, ...]]:
            with transaction(engine) as later:
                return _read_history(later, case_id)

        history = History(loader, None, open_visit)
    return CaseView(
        id=case_id,
        tracking_number=row.tracking_number,
        region=row.region_id,
        sop_id=row.sop_id,
        sop_version=row.sop_version,
        content_hash=row.content_hash,
        step=row.step,
        status=row.status,
        unit=row.unit_key,
        channel=row.channel,
        text=row.text,
        fields=dict(row.fields),
        anonymous=row.anonymous,
        confidential=row.confidential,
        revision=row.revision,
        created_at=row.created_at,
        updated_at=row.updated_at,
        closed_at=row.closed_at,
        history=history,
        left_visit=left_visit,
    )


def count_cases(engine: Engine) -> int:
    with transaction(engine) as session:
        return int(session.exec(select(func.count()).select_from(CaseRow)).one())
