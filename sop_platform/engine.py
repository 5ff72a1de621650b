"""The generic case engine: submit a case, act on it, list what an actor may do, read its history.

Each command is one transaction with the case row locked (PostgreSQL ``SELECT ... FOR UPDATE``;
SQLite ``BEGIN IMMEDIATE``). The compiled SOP decides through the evaluator; the engine writes the
case, one append-only event and the step visits. A refused command writes nothing and says why.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from rules import expr as ex
from rules.evaluator import CompiledSop, Decision, FieldValueError, normalise_fields
from rules.loader import BUILTIN_FIELDS
from rules.model import RoleKind, Sop, Step
from sop_platform.db import is_sqlite, transaction
from sop_platform.models import CaseEvent, CaseRow, Reporter, StepVisit
from sop_platform.registry import Registry
from sop_platform.timekeeping import Clock

MAX_TEXT = 20_000


class EngineError(Exception):
    """A command the engine will not carry out; ``message`` is for a clerk, in Bahasa Indonesia."""

    code = "error"

    def __init__(self, message: str, message_en: str = "", **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.message_en = message_en or message
        self.details = details


class NotFound(EngineError):
    code = "not_found"


class Refused(EngineError):
    code = "refused"


class Conflict(EngineError):
    code = "conflict"


class InvalidSubmission(EngineError):
    code = "invalid"


class IdempotencyMismatch(EngineError):
    code = "idempotency_mismatch"


@dataclass(frozen=True)
class Grant:
    """One role a person holds: in a region, and for unit staff, in one unit."""

    region: str
    role: str
    unit: str | None = None


@dataclass(frozen=True)
class Actor:
    name: str
    grants: tuple[Grant, ...]
    user_id: int | None = None

    def roles_for(self, region: str, unit: str | None, sop: Sop) -> list[str]:
        """The actor's roles that cover a case of this region and unit."""
        out: list[str] = []
        for g in self.grants:
            if g.region != region or g.role not in sop.roles:
                continue
            kind = sop.roles[g.role].kind
            if kind is RoleKind.unit_staff and g.unit is not None and g.unit != unit:
                continue
            out.append(g.role)
        return sorted(set(out))

    def roles_anywhere(self, region: str) -> list[str]:
        return sorted({g.role for g in self.grants if g.region == region})


@dataclass(frozen=True)
class ReporterInfo:
    name: str | None = None
    nik: str | None = None
    email: str | None = None
    phone: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def given(self) -> set[str]:
        present = {k for k in ("name", "nik", "email", "phone") if getattr(self, k)}
        aliases = {"nik": "nomor_identitas", "phone": "telepon", "name": "nama"}
        present |= {aliases[k] for k in list(present) if k in aliases}
        present |= {k for k, v in self.extra.items() if v}
        return present


@dataclass(frozen=True)
class NewCase:
    sop_id: str
    channel: str
    text: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    reporter: ReporterInfo | None = None
    anonymous: bool = False
    confidential: bool = False
    idempotency_key: str | None = None
    submitted_by: Actor | None = None

    def request_hash(self) -> str:
        body = {
            "sop": self.sop_id,
            "channel": self.channel,
            "text": self.text,
            "fields": dict(self.fields),
            "anonymous": self.anonymous,
            "confidential": self.confidential,
            "reporter": None
            if self.reporter is None
            else {
                "name": self.reporter.name,
                "nik": self.reporter.nik,
                "email": self.reporter.email,
                "phone": self.reporter.phone,
                "extra": dict(self.reporter.extra),
            },
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class VisitView:
    step: str
    role: str | None
    unit: str | None
    entered_at: datetime
    left_at: datetime | None
    due_at: datetime | None
    limit_text: str | None
    clock: str | None
    calendar_version: str | None
    outcome: str | None


@dataclass(frozen=True)
class EventView:
    seq: int
    at: datetime
    kind: str
    actor_name: str
    role: str | None
    action: str | None
    from_step: str | None
    to_step: str | None
    unit: str | None
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class CaseView:
    id: int
    tracking_number: str
    region: str
    sop_id: str
    sop_version: str
    content_hash: str
    step: str
    status: str
    unit: str | None
    channel: str
    text: str
    fields: Mapping[str, Any]
    anonymous: bool
    confidential: bool
    revision: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    events: tuple[EventView, ...] = ()
    visits: tuple[VisitView, ...] = ()

    @property
    def open_visit(self) -> VisitView | None:
        return next((v for v in reversed(self.visits) if v.left_at is None), None)


@dataclass(frozen=True)
class Offer:
    """An action the actor may take now, with the entries it needs."""

    action: str
    label: str
    requires: tuple[str, ...]
    reroute: bool
    moves: bool


class CaseEngine:
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
            return _view(session, row)

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
            return _view(session, row)

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
        if new.idempotency_key:
            existing = self._by_idempotency_key(new.idempotency_key, request_hash)
            if existing is not None:
                return existing
        now = self.clock.now()
        try:
            with transaction(self.engine) as session:
                case_id = self._insert_case(session, compiled, new, fields, request_hash, now)
        except IntegrityError:
            if new.idempotency_key:  # a concurrent retry with the same key won the race
                existing = self._by_idempotency_key(new.idempotency_key, request_hash)
                if existing is not None:
                    return existing
            raise
        return self.get(case_id)

    def _by_idempotency_key(self, key: str, request_hash: str) -> CaseView | None:
        with transaction(self.engine) as session:
            row = session.exec(select(CaseRow).where(CaseRow.idempotency_key == key)).first()
            if row is None:
                return None
            if row.request_hash != request_hash:
                raise IdempotencyMismatch(
                    "Kunci idempotensi ini sudah dipakai untuk laporan lain.",
                    "This idempotency key was already used for a different submission.",
                    case=row.tracking_number,
                )
            return _view(session, row)

    def _check_submission(self, sop: Sop, new: NewCase) -> dict[str, Any]:
        sub = sop.submission
        problems: list[str] = []
        if sub.channels and new.channel not in sub.channels:
            problems.append(
                f"kanal '{new.channel}' tidak dilayani SOP ini (kanal: {', '.join(sub.channels)})"
            )
        text = new.text.strip()
        if not text:
            problems.append("isi laporan kosong")
        elif len(text) > MAX_TEXT:
            problems.append(f"isi laporan paling banyak {MAX_TEXT} karakter")
        if new.anonymous and not sub.anonymous_allowed:
            problems.append("SOP ini tidak menerima laporan anonim")
        if new.confidential and not sub.confidential_allowed:
            problems.append("SOP ini tidak menerima laporan rahasia")
        if sub.identity_any_of and not new.anonymous:
            given = new.reporter.given() if new.reporter else set()
            if not given & set(sub.identity_any_of):
                problems.append(
                    "identitas pelapor wajib diisi, salah satu dari: "
                    + ", ".join(sub.identity_any_of)
                )
        reporter_role = sop.roles.get(sub.by)
        if reporter_role is not None and reporter_role.kind is not RoleKind.citizen:
            actor = new.submitted_by
            if actor is None or sub.by not in actor.roles_anywhere(sop.region):
                title = reporter_role.title or sub.by
                problems.append(f"laporan SOP ini disampaikan oleh {title}; masuk sebagai {title}")
        fields: dict[str, Any] = {}
        try:
            fields = normalise_fields(sop, {k: v for k, v in new.fields.items() if k in sop.fields})
        except FieldValueError as err:
            problems.append(f"isian '{err.name}' tidak valid: {err.problem}")
        for name, spec in sop.fields.items():
            if spec.required and name not in fields:
                problems.append(f"isian '{spec.label or name}' wajib diisi")
        if problems:
            raise InvalidSubmission(
                "Laporan belum dapat diterima: " + "; ".join(problems) + ".", problems=problems
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
    ) -> int:
        sop = compiled.sop
        reporter_id = None
        if new.reporter is not None and not new.anonymous:
            rep = Reporter(
                name=new.reporter.name,
                nik=new.reporter.nik,
                email=new.reporter.email,
                phone=new.reporter.phone,
                extra=dict(new.reporter.extra),
            )
            session.add(rep)
            session.flush()
            reporter_id = rep.id
        unit = route(sop, fields)
        start = sop.steps[sop.start]
        row = CaseRow(
            tracking_number=_tracking_number(sop.region, now),
            region_id=sop.region,
            sop_id=sop.sop,
            sop_version=sop.version,
            content_hash=compiled.content_hash,
            step=sop.start,
            status=start.status.value,
            unit_key=unit,
            channel=new.channel,
            text=new.text.strip(),
            fields=fields,
            anonymous=new.anonymous,
            confidential=new.confidential,
            reporter_id=reporter_id,
            submitted_by_user_id=new.submitted_by.user_id if new.submitted_by else None,
            idempotency_key=new.idempotency_key,
            request_hash=request_hash,
            revision=1,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        actor = new.submitted_by
        session.add(
            CaseEvent(
                case_id=row.id,
                seq=1,
                at=now,
                kind="submit",
                actor_user_id=actor.user_id if actor else None,
                actor_name=actor.name if actor else ("Anonim" if new.anonymous else "Pelapor"),
                role=sop.submission.by,
                action="submit",
                from_step=None,
                to_step=sop.start,
                unit_key=unit,
                payload={"fields": fields, "informs": list(start.informs)},
            )
        )
        self._enter(session, row, sop, sop.start, now)
        return row.id

    # --- acting ---------------------------------------------------------------------------

    def available_actions(self, case_id: int, actor: Actor) -> list[Offer]:
        view = self.get(case_id)
        compiled = self.registry.by_hash(view.content_hash)
        sop = compiled.sop
        roles = actor.roles_for(view.region, view.unit, sop)
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
            compiled = self.registry.by_hash(row.content_hash)
            sop = compiled.sop
            roles = actor.roles_for(row.region_id, row.unit_key, sop)
            merged = {**row.fields, **dict(payload or {})}
            decision = self.registry.evaluator.decide(compiled, row.step, roles, action, merged)
            if not decision.allowed:
                raise self._refusal(compiled, row, actor, action, merged, decision)
            self._apply(session, row, sop, actor, roles, action, decision, payload or {})
            session.flush()
            return _view(session, row)

    def _lock_case(self, session: Session, case_id: int) -> CaseRow:
        query = select(CaseRow).where(CaseRow.id == case_id)
        if not is_sqlite(self.engine):  # SQLite: BEGIN IMMEDIATE already holds the write lock
            query = query.with_for_update()
        row = session.exec(query).first()
        if row is None:
            raise NotFound(f"Kasus {case_id} tidak ditemukan.", f"Case {case_id} not found.")
        return row

    def _refusal(
        self,
        compiled: CompiledSop,
        row: CaseRow,
        actor: Actor,
        action: str,
        merged: Mapping[str, Any],
        decision: Decision,
    ) -> Refused:
        if decision.reason == "not_your_role":
            # Would the actor's roles allow it in another unit? Then say it is a matter of scope.
            anywhere = actor.roles_anywhere(row.region_id)
            wider = self.registry.evaluator.decide(compiled, row.step, anywhere, action, merged)
            if wider.allowed or wider.reason == "missing_fields":
                unit = self.registry.region(row.region_id).units.get(row.unit_key or "")
                name = unit.name if unit else "-"
                return Refused(
                    f"Kasus ini ditangani oleh {name}; "
                    "Anda tidak bertugas di perangkat daerah itu.",
                    f"This case belongs to {name}; you do not work for that unit.",
                    reason="out_of_scope",
                )
        return Refused(
            decision.message,
            decision.message_en,
            reason=decision.reason,
            missing=list(decision.missing),
        )

    def _apply(
        self,
        session: Session,
        row: CaseRow,
        sop: Sop,
        actor: Actor,
        roles: Sequence[str],
        action_name: str,
        decision: Decision,
        payload: Mapping[str, Any],
    ) -> None:
        now = self.clock.now()
        step = sop.steps[row.step]
        action = step.actions[action_name]
        allowed = set(sop.action_roles(step, action))
        role = next(r for r in roles if r in allowed)
        entries = normalise_fields(sop, payload)
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
        stored = {k: v for k, v in entries.items() if k in sop.fields or k in BUILTIN_FIELDS}
        row.fields = {**row.fields, **stored}
        from_step = row.step
        row.revision += 1
        row.updated_at = now
        event_payload: dict[str, Any] = {"entries": entries}
        if action.report_to:
            event_payload["report_to"] = list(action.report_to)
        if decision.branch is not None:
            event_payload["branch"] = decision.branch
        if decision.moves and decision.to is not None:
            self._leave(session, row, now)
            row.step = decision.to
            target = sop.steps[decision.to]
            row.status = target.status.value
            row.closed_at = now if target.terminal else None
            if target.informs:
                event_payload["informs"] = list(target.informs)
            self._enter(session, row, sop, decision.to, now)
        assert row.id is not None
        session.add(
            CaseEvent(
                case_id=row.id,
                seq=row.revision,
                at=now,
                kind=kind,
                actor_user_id=actor.user_id,
                actor_name=actor.name,
                role=role,
                action=action_name,
                from_step=from_step,
                to_step=row.step,
                unit_key=row.unit_key,
                payload=event_payload,
            )
        )
        session.add(row)

    # --- step visits ----------------------------------------------------------------------

    def _enter(self, session: Session, row: CaseRow, sop: Sop, step_id: str, now: datetime) -> None:
        step: Step = sop.steps[step_id]
        assert row.id is not None
        role_kind = sop.roles[step.by].kind if step.by and step.by in sop.roles else None
        due = clock = version = None
        if step.limit is not None and not step.terminal:
            calendar = self.registry.calendar(row.region_id)
            clock = step.effective_clock
            due = calendar.due(now, step.limit, clock)
            version = calendar.version
        session.add(
            StepVisit(
                case_id=row.id,
                step=step_id,
                role=step.by,
                unit_key=row.unit_key if role_kind is RoleKind.unit_staff else None,
                entered_at=now,
                left_at=now if step.terminal else None,
                due_at=due,
                limit_text=step.limit.text if step.limit else None,
                clock=clock.value if clock else None,
                calendar_version=version,
            )
        )

    def _leave(self, session: Session, row: CaseRow, now: datetime) -> None:
        visit = session.exec(
            select(StepVisit).where(StepVisit.case_id == row.id, col(StepVisit.left_at).is_(None))
        ).first()
        if visit is None:
            return
        visit.left_at = now
        if visit.due_at is not None:
            visit.outcome = "met" if now <= visit.due_at else "breached"
        session.add(visit)


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


def _view(session: Session, row: CaseRow) -> CaseView:
    assert row.id is not None
    events = session.exec(
        select(CaseEvent).where(CaseEvent.case_id == row.id).order_by(col(CaseEvent.seq))
    ).all()
    visits = session.exec(
        select(StepVisit).where(StepVisit.case_id == row.id).order_by(col(StepVisit.id))
    ).all()
    return CaseView(
        id=row.id,
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
        events=tuple(
            EventView(
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
            for e in events
        ),
        visits=tuple(
            VisitView(
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
            for v in visits
        ),
    )


def count_cases(engine: Engine) -> int:
    with transaction(engine) as session:
        return int(session.exec(select(func.count()).select_from(CaseRow)).one())
