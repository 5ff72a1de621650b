"""What the case engine takes and gives: actors and their grants, new submissions, views of a
case (its history read on demand), offers of actions, and the errors a clerk can read."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rules.model import RoleKind, Sop


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
    """One role a person holds: in a region; for unit staff, in one unit; for a citizen, on the
    one case they reported (proved by its tracking link)."""

    region: str
    role: str
    unit: str | None = None
    case_id: int | None = None


@dataclass(frozen=True)
class Actor:
    name: str
    grants: tuple[Grant, ...]
    user_id: int | None = None

    def roles_for(
        self, region: str, unit: str | None, sop: Sop, case_id: int | None = None
    ) -> list[str]:
        """The actor's roles that cover a case of this region and unit (and id, for citizens)."""
        out: list[str] = []
        for g in self.grants:
            if g.region != region or g.role not in sop.roles:
                continue
            kind = sop.roles[g.role].kind
            if kind is RoleKind.unit_staff and (g.unit is None or g.unit != unit):
                continue
            if kind is RoleKind.citizen and (g.case_id is None or g.case_id != case_id):
                continue
            out.append(g.role)
        return sorted(set(out))

    def roles_anywhere(self, region: str) -> list[str]:
        return sorted({g.role for g in self.grants if g.region == region})


def submission_scope(actor: Actor, sop: Sop) -> tuple[bool, frozenset[str] | None]:
    """Whether a member of staff may record a case of this SOP, and in which units.

    Staff record a case only for an SOP whose ``submission.by`` is a non-citizen role they hold
    in the SOP's region (Cirebon: the Call Taker). For a unit-staff role the units of their
    grants bound where the case may be routed; a grant of the role without a unit (a system
    submitter such as the demo history) is region-wide, given as ``None``. Citizen SOPs are
    reported by the citizen (``/lapor``, the API), never in a clerk's name.
    """
    role = sop.roles.get(sop.submission.by)
    if role is None or role.kind is RoleKind.citizen:
        return False, None
    grants = [g for g in actor.grants if g.region == sop.region and g.role == sop.submission.by]
    if not grants:
        return False, None
    if role.kind is not RoleKind.unit_staff or any(g.unit is None for g in grants):
        return True, None
    return True, frozenset(g.unit for g in grants if g.unit is not None)


@dataclass(frozen=True)
class ReporterInfo:
    name: str | None = None
    nik: str | None = None
    email: str | None = None
    phone: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def given(self) -> set[str]:
        """The kinds of identity given (blank values do not count)."""
        present = {k for k in ("name", "nik", "email", "phone") if filled(getattr(self, k))}
        aliases = {"nik": "nomor_identitas", "phone": "telepon", "name": "nama"}
        present |= {aliases[k] for k in list(present) if k in aliases}
        present |= {k for k, v in self.extra.items() if filled(v)}
        return present


def filled(value: str | None) -> bool:
    return value is not None and bool(str(value).strip())


def clean_text(value: str | None) -> str | None:
    return str(value).strip() if filled(value) else None


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
    history: History = field(repr=False, compare=False)
    # The visit the command that returned this view closed (not part of the case's state).
    left_visit: VisitView | None = field(default=None, compare=False)

    @property
    def events(self) -> tuple[EventView, ...]:
        """The case's append-only history (read from the database on first use)."""
        return self.history.load()[0]

    @property
    def visits(self) -> tuple[VisitView, ...]:
        return self.history.load()[1]

    @property
    def open_visit(self) -> VisitView | None:
        if self.history.open_visit is not UNKNOWN:
            return self.history.open_visit  # type: ignore[return-value]
        return next((v for v in reversed(self.visits) if v.left_at is None), None)


UNKNOWN = object()


class History:
    """A case's events and visits: given, or read once when first asked for.

    Commands return a view without reading the whole history back (most callers never need it);
    the open visit the command created is known without a query.
    """

    def __init__(
        self,
        loader: Callable[[], tuple[tuple[EventView, ...], tuple[VisitView, ...]]] | None,
        loaded: tuple[tuple[EventView, ...], tuple[VisitView, ...]] | None = None,
        open_visit: object = UNKNOWN,
    ) -> None:
        self._loader = loader
        self._loaded = loaded
        self.open_visit = open_visit
        self._lock = threading.Lock()

    def load(self) -> tuple[tuple[EventView, ...], tuple[VisitView, ...]]:
        with self._lock:
            if self._loaded is None:
                assert self._loader is not None
                self._loaded = self._loader()
            return self._loaded


@dataclass(frozen=True)
class Offer:
    """An action the actor may take now, with the entries it needs."""

    action: str
    label: str
    requires: tuple[str, ...]
    reroute: bool
    moves: bool
