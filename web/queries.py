"""Read-only queries of the staff pages: the work queue, open escalations, a paused visit.

None of them is offered by the engine (yet).

The queue of an actor: open cases (status open or waiting) whose current step's responsible role
(``by``) or an informed role (``informs``) the actor holds in the case's region — and, for unit
staff, in the case's unit. The pairs (SOP version, step) come from the published definitions, so
a case keeps the rules of the version it started on.

Ordered by urgency: the open step visit's ``due_at`` ascending, steps without a deadline last,
then the case id. Paged by keyset (``due_at``, ``id``) — never by OFFSET — so a page costs the
same at the millionth case as at the first.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, func, or_, select
from sqlmodel import Session

from rules.model import RoleKind
from sop_platform.cases import Actor
from sop_platform.models import CaseRow, EscalationTask, SopDefinitionRow, StepVisit
from sop_platform.registry import Registry

_CASES = CaseRow.__table__  # type: ignore[attr-defined]
_VISITS = StepVisit.__table__  # type: ignore[attr-defined]
_DEFS = SopDefinitionRow.__table__  # type: ignore[attr-defined]
_TASKS = EscalationTask.__table__  # type: ignore[attr-defined]

OPEN_STATUSES = ("open", "waiting")
# A tracking number as the engine makes them (``YOG-251124-ABC234``): searched exactly, by its
# unique index, instead of through the report texts.
TRACKING_NUMBER = re.compile(r"^[A-Z]{1,3}-\d{6}-[A-Z2-9]{6}$")
SEARCH_MAX = 100


@dataclass(frozen=True)
class QueueScope:
    """Where an actor's work is: (version, step) anywhere in the region, or in one unit."""

    regions: tuple[str, ...]
    anywhere: tuple[tuple[str, str], ...]  # (content_hash, step)
    in_unit: tuple[tuple[str, str, str], ...]  # (content_hash, step, unit)
    sops: tuple[tuple[str, str], ...]  # (sop_id, title) of the SOPs concerned, for the filter
    steps: tuple[tuple[str, str], ...] = ()  # (step id, title) of the steps concerned

    @property
    def empty(self) -> bool:
        return not self.anywhere and not self.in_unit


@dataclass(frozen=True)
class Cursor:
    """The last row of a page: its deadline (``None`` = no deadline) and case id."""

    due_at: datetime | None
    case_id: int

    def encode(self) -> str:
        due = self.due_at.isoformat() if self.due_at else "-"
        return f"{due}~{self.case_id}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """A cursor from a query string; anything malformed means the first page."""
        if not text or "~" not in text:
            return None
        due_text, _, id_text = text.rpartition("~")
        try:
            case_id = int(id_text)
            due = None if due_text == "-" else datetime.fromisoformat(due_text)
        except ValueError:
            return None
        if due is not None and due.tzinfo is None:
            return None
        return cls(due, case_id)


@dataclass(frozen=True)
class QueueRow:
    id: int
    tracking_number: str
    region: str
    sop_id: str
    content_hash: str
    step: str
    status: str
    unit: str | None
    created_at: datetime
    due_at: datetime | None
    paused: bool


@dataclass(frozen=True)
class QueuePage:
    rows: tuple[QueueRow, ...]
    next_cursor: Cursor | None


def queue_scope(session: Session, registry: Registry, actor: Actor) -> QueueScope:
    """The (version, step[, unit]) combinations whose open cases wait on this actor."""
    regions = sorted({g.region for g in actor.grants})
    if not regions:
        return QueueScope((), (), (), ())
    with session.begin():
        hashes = (
            session.connection()
            .execute(
                select(_DEFS.c.content_hash)
                .where(_DEFS.c.region_id.in_(regions))
                .order_by(_DEFS.c.sop_id, _DEFS.c.version)
            )
            .scalars()
            .all()
        )
    anywhere: set[tuple[str, str]] = set()
    in_unit: set[tuple[str, str, str]] = set()
    sops: dict[str, str] = {}
    steps: dict[str, str] = {}
    for content_hash in hashes:
        # Cached for every version in the files; an old version is compiled once from its copy.
        sop = registry.by_hash(content_hash).sop
        grants = [g for g in actor.grants if g.region == sop.region and g.role in sop.roles]
        if not grants:
            continue
        for step_id, step in sop.steps.items():
            if step.terminal:
                continue
            waiting_on = {r for r in (step.by, *step.informs) if r}
            for g in grants:
                if g.role not in waiting_on:
                    continue
                kind = sop.roles[g.role].kind
                if kind is RoleKind.citizen:
                    continue
                if kind is RoleKind.unit_staff:
                    if g.unit is not None:
                        in_unit.add((content_hash, step_id, g.unit))
                else:
                    anywhere.add((content_hash, step_id))
                sops.setdefault(sop.sop, sop.title)
                steps.setdefault(step_id, step.title)
    return QueueScope(
        tuple(regions),
        tuple(sorted(anywhere)),
        tuple(sorted(in_unit)),
        tuple(sorted(sops.items())),
        tuple(sorted(steps.items(), key=lambda s: (s[1], s[0]))),
    )


def _scope_by_step(scope: QueueScope) -> dict[str, ColumnElement[bool]]:
    """For each step of the scope, which of its cases are the actor's (versions, units)."""
    c = _CASES.c
    anywhere: dict[str, list[str]] = {}
    in_unit: dict[str, list[tuple[str, str]]] = {}
    for h, s in scope.anywhere:
        anywhere.setdefault(s, []).append(h)
    for h, s, u in scope.in_unit:
        in_unit.setdefault(s, []).append((h, u))
    out: dict[str, ColumnElement[bool]] = {}
    for step in sorted({*anywhere, *in_unit}):
        terms: list[ColumnElement[bool]] = []
        if step in anywhere:
            terms.append(c.content_hash.in_(anywhere[step]))
        terms += [and_(c.content_hash == h, c.unit_key == u) for h, u in in_unit.get(step, [])]
        out[step] = or_(*terms)
    return out


def search_condition(text: str) -> ColumnElement[bool] | None:
    """What a search box finds: a tracking number exactly, else the words in the report's text
    or its fields (case-insensitive substring, the same on SQLite and PostgreSQL)."""
    words = " ".join(text.split())[:SEARCH_MAX]
    if not words:
        return None
    c = _CASES.c
    if TRACKING_NUMBER.match(words.upper()):
        exact: ColumnElement[bool] = c.tracking_number == words.upper()
        return exact
    escaped = words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return or_(
        func.lower(c.text).like(pattern, escape="\\"),
        func.lower(cast(c.fields, String)).like(pattern, escape="\\"),
    )


def queue_page(
    session: Session,
    scope: QueueScope,
    *,
    sop_id: str | None = None,
    status: str | None = None,
    step: str | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    search: str | None = None,
    after: Cursor | None = None,
    limit: int = 25,
) -> QueuePage:
    """One page of the queue, most urgent first, after ``after``.

    Two keyset phases, each a plain ascending range an index can serve on SQLite and PostgreSQL
    alike (no ``NULLS LAST``): visits with a deadline by (``due_at``, case id), then visits
    without one by case id. The second runs only when the first does not fill the page.

    Each phase reads every step of the scope on its own, from the index on the open visits'
    (``step``, ``due_at``, ``case_id``), and merges the sorted results: one query with all steps
    in an OR makes both databases walk the open visits of every step and look each case up
    (``bench/queue_page.py``). A case is at one step, so the steps' rows never overlap.

    Filters narrow each query: ``since``/``until`` bound the submission time (``until``
    excluded), ``search`` is :func:`search_condition`.
    """
    if scope.empty:
        return QueuePage((), None)
    c, v = _CASES.c, _VISITS.c
    conditions: list[ColumnElement[bool]] = [
        c.region_id.in_(scope.regions),
        c.status.in_([status] if status in OPEN_STATUSES else list(OPEN_STATUSES)),
    ]
    if sop_id:
        conditions.append(c.sop_id == sop_id)
    if channel:
        conditions.append(c.channel == channel)
    if since is not None:
        conditions.append(c.created_at >= since)
    if until is not None:
        conditions.append(c.created_at < until)
    found_text = search_condition(search) if search else None
    if found_text is not None:
        conditions.append(found_text)
    steps = _scope_by_step(scope)
    if step:
        steps = {step: steps[step]} if step in steps else {}
    base = select(
        c.id,
        c.tracking_number,
        c.region_id,
        c.sop_id,
        c.content_hash,
        c.step,
        c.status,
        c.unit_key,
        c.created_at,
        v.due_at,
        v.paused_at,
    ).select_from(_VISITS.join(_CASES, c.id == v.case_id))

    def of_step(step_id: str, mine: ColumnElement[bool]) -> Any:
        # v.step and v.left_at first: the index's leading column and its partial condition.
        return base.where(v.step == step_id, v.left_at.is_(None), c.step == step_id, mine).where(
            *conditions
        )

    found: list[Any] = []
    with session.begin():
        conn = session.connection()
        if conn.dialect.name == "postgresql":
            # A page stops after a few index entries; PostgreSQL's parallel plan for it spent
            # more on starting workers (about 15 ms) than on the page itself (about 1 ms).
            conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
        if after is None or after.due_at is not None:
            parts = []
            for step_id, mine in steps.items():
                timed = of_step(step_id, mine).where(v.due_at.is_not(None))
                if after is not None:
                    # ``due_at >= x`` first: a range both databases seek in the index; the tie
                    # on equal deadlines is settled by the case id.
                    timed = timed.where(
                        v.due_at >= after.due_at,
                        or_(v.due_at > after.due_at, v.case_id > after.case_id),
                    )
                parts.append(
                    conn.execute(timed.order_by(v.due_at, v.case_id).limit(limit + 1)).all()
                )
            found += list(heapq.merge(*parts, key=lambda r: (r.due_at, r.id)))[: limit + 1]
        if len(found) <= limit:
            rest = limit + 1 - len(found)
            parts = []
            for step_id, mine in steps.items():
                untimed = of_step(step_id, mine).where(v.due_at.is_(None))
                if after is not None and after.due_at is None:
                    untimed = untimed.where(v.case_id > after.case_id)
                parts.append(conn.execute(untimed.order_by(v.case_id).limit(rest)).all())
            found += list(heapq.merge(*parts, key=lambda r: r.id))[:rest]
    rows = tuple(
        QueueRow(
            id=r.id,
            tracking_number=r.tracking_number,
            region=r.region_id,
            sop_id=r.sop_id,
            content_hash=r.content_hash,
            step=r.step,
            status=r.status,
            unit=r.unit_key,
            created_at=r.created_at,
            due_at=r.due_at,
            paused=r.paused_at is not None,
        )
        for r in found[:limit]
    )
    more = len(found) > limit
    last = rows[-1] if rows else None
    return QueuePage(rows, Cursor(last.due_at, last.id) if more and last else None)


@dataclass(frozen=True)
class EscalationRow:
    """An open escalation task waiting on one of the actor's roles."""

    task_id: int
    case_id: int
    tracking_number: str
    region: str
    sop_id: str
    content_hash: str
    case_step: str
    case_unit: str | None
    level: int
    role: str
    step: str
    unit: str | None
    created_at: datetime
    due_at: datetime | None


def escalations_for(session: Session, actor: Actor, *, limit: int = 200) -> list[EscalationRow]:
    """Open escalations for the actor's roles (for unit staff: their unit's), oldest first.

    Read by the index on (region, role, resolved_at); a task whose visit has ended is already
    answered (the case moved on), so it is left out as the engine's ``open_escalations`` does.
    """
    regions = sorted({g.region for g in actor.grants})
    roles = sorted({g.role for g in actor.grants})
    if not regions:
        return []
    t, c, v = _TASKS.c, _CASES.c, _VISITS.c
    query = (
        select(
            t.id,
            t.case_id,
            c.tracking_number,
            t.region_id,
            c.sop_id,
            c.content_hash,
            c.step.label("case_step"),
            c.unit_key.label("case_unit"),
            t.level,
            t.role,
            t.step,
            t.unit_key,
            t.created_at,
            v.due_at,
        )
        .join(_CASES, c.id == t.case_id)
        .join(_VISITS, v.id == t.visit_id)
        .where(
            t.region_id.in_(regions),
            t.role.in_(roles),
            t.resolved_at.is_(None),
            v.left_at.is_(None),
        )
        .order_by(t.created_at, t.id)
        .limit(limit)
    )
    with session.begin():
        found = session.connection().execute(query).all()
    out = []
    for r in found:
        for g in actor.grants:
            if (
                g.region == r.region_id
                and g.role == r.role
                and (r.unit_key is None or g.unit == r.unit_key)
            ):
                out.append(
                    EscalationRow(
                        r.id,
                        r.case_id,
                        r.tracking_number,
                        r.region_id,
                        r.sop_id,
                        r.content_hash,
                        r.case_step,
                        r.case_unit,
                        r.level,
                        r.role,
                        r.step,
                        r.unit_key,
                        r.created_at,
                        r.due_at,
                    )
                )
                break
    return out


def open_visit_pause(session: Session, case_id: int) -> str | None:
    """The reason the case's open step visit is paused for, or ``None`` if its clock runs."""
    v = _VISITS.c
    with session.begin():
        found = (
            session.connection()
            .execute(
                select(v.paused_at, v.paused_reason).where(
                    v.case_id == case_id, v.left_at.is_(None)
                )
            )
            .first()
        )
    if found is None or found.paused_at is None:
        return None
    return str(found.paused_reason or "")
