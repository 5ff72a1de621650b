"""Staff pages: the work queue (antrean), the case page (kasus), the escalations (eskalasi).

The case page carries the SOP's actions, the step's clock (pause/resume) and interventions.

Scope: a case is shown only to someone holding a role at it (in its region; for unit staff, in its
unit). Anyone else gets the same 404 as for an id that does not exist, so guessing ids tells
nothing. The actions offered are exactly those the engine offers this actor now; posting one
calls the engine with the revision the page showed, so a stale page gets a conflict, not a lost
update. A refusal is shown in place, in the engine's own words. Attachments, the clock
(pause/resume) and interventions follow the same 404 rule before the engine decides.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlmodel import Session

from rules.loader import BUILTIN_FIELDS
from rules.model import CaseField, FieldType, Region, Sop
from sop_platform.cases import (
    Actor,
    CaseView,
    Conflict,
    EngineError,
    EventView,
    NotFound,
    Offer,
    VisitView,
    submission_scope,
)
from sop_platform.personal_data import may_see_reporter
from web import i18n
from web.context import FORM, Web, blocking, form_text, is_htmx, lang_of, page, redirect, web_of
from web.diagram import render as render_flowchart
from web.queries import (
    OPEN_STATUSES,
    Cursor,
    escalations_for,
    open_visit_pause,
    queue_page,
    queue_scope,
)

ENTRY_PREFIX = "f_"
TEXT_ENTRIES = ("jawaban", "alasan", "catatan", "laporan")


async def provide_db(state: State) -> AsyncGenerator[Session, None]:
    """A database session per request, for the web's own read queries (each in a short
    transaction of its own: SQLite begins every transaction with BEGIN IMMEDIATE)."""
    with Session(web_of(state).engine, expire_on_commit=False) as session:
        yield session


# --- helpers shared with the citizen pages ---------------------------------------------------


def unit_name(region: Region, key: str | None) -> str:
    if key is None:
        return "-"
    unit = region.units.get(key)
    return unit.name if unit else key


def role_title(sop: Sop, role: str | None) -> str:
    if role is None:
        return "-"
    found = sop.roles.get(role)
    return (found.title or role) if found else role


def step_title(sop: Sop, step: str | None) -> str:
    if step is None:
        return "-"
    found = sop.steps.get(step)
    return found.title if found else step


def field_spec(sop: Sop, name: str) -> CaseField | None:
    return sop.fields.get(name) or BUILTIN_FIELDS.get(name)


def field_label(sop: Sop, name: str) -> str:
    spec = field_spec(sop, name)
    return (spec.label if spec and spec.label else None) or name.replace("_", " ").capitalize()


def show_value(value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return i18n.translate("common.yes" if value else "common.no", lang)
    return str(value)


# --- the queue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    id: int
    tracking_number: str
    sop_title: str
    step_title: str
    unit: str
    status: str
    due_text: str
    due_local: str
    due_iso: str
    breached: bool
    paused: bool


QUEUE_FILTERS = ("sop", "step", "status", "channel", "dari", "sampai", "q")


def _queue_url(filters: dict[str, str], after: str | None = None) -> str:
    params = {k: filters[k] for k in QUEUE_FILTERS if filters.get(k)}
    if after:
        params["after"] = after
    return "/antrean" + (f"?{urlencode(params)}" if params else "")


def _local_day(text: str | None, tz: tzinfo) -> datetime | None:
    """Midnight (local) of a ``YYYY-MM-DD`` date, or ``None`` when blank; ValueError if bad."""
    if not text or not text.strip():
        return None
    return datetime.combine(date.fromisoformat(text.strip()), time(0, 0), tzinfo=tz)


@get("/antrean", name="queue")
async def queue(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    db: NamedDependency[Session],
    sop: FromQuery[str | None] = None,
    step: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
    channel: FromQuery[str | None] = None,
    dari: FromQuery[str | None] = None,
    sampai: FromQuery[str | None] = None,
    q: FromQuery[str | None] = None,
    after: FromQuery[str | None] = None,
    pindah: FromQuery[str | None] = None,
) -> Response[Any]:
    asked = {
        "sop": sop,
        "step": step,
        "status": status,
        "channel": channel,
        "dari": dari,
        "sampai": sampai,
        "q": q,
    }
    filters = {k: v.strip() for k, v in asked.items() if v and v.strip()}
    return await blocking(_queue, request, web_of(state), actor, db, filters, after, bool(pindah))


def _queue(
    request: Request[Any, Any, Any],
    web: Web,
    actor: Actor,
    db: Session,
    asked: dict[str, str],
    after: str | None,
    pindah: bool,
) -> Response[Any]:
    lang = lang_of(request)
    scope = queue_scope(db, web.registry, actor)
    # Only values the page offers are kept; anything else is dropped rather than trusted.
    channels: dict[str, str] = {}
    for rid in scope.regions:
        for key, ch in web.registry.region(rid).channels.items():
            channels.setdefault(key, ch.title)
    filters = dict(asked)
    if filters.get("status") not in OPEN_STATUSES:
        filters.pop("status", None)
    if filters.get("sop") not in {s for s, _ in scope.sops}:
        filters.pop("sop", None)
    if filters.get("step") not in {s for s, _ in scope.steps}:
        filters.pop("step", None)
    if filters.get("channel") not in channels:
        filters.pop("channel", None)
    tz = web.registry.calendar(scope.regions[0]).tz if scope.regions else UTC
    filter_error = None
    try:
        since = _local_day(filters.get("dari"), tz)
        until_day = _local_day(filters.get("sampai"), tz)
    except ValueError:
        since = until_day = None
        filters.pop("dari", None)
        filters.pop("sampai", None)
        filter_error = i18n.translate("queue.bad_date", lang)
    until = until_day + timedelta(days=1) if until_day else None
    cursor = Cursor.decode(after)
    result = queue_page(
        db,
        scope,
        sop_id=filters.get("sop"),
        status=filters.get("status"),
        step=filters.get("step"),
        channel=filters.get("channel"),
        since=since,
        until=until,
        search=filters.get("q"),
        after=cursor,
        limit=web.settings.page_size,
    )
    now = web.clock.now()
    items = []
    for row in result.rows:
        definition = web.registry.by_hash(row.content_hash).sop
        region = web.registry.region(row.region)
        due_text, breached = i18n.time_left(row.due_at, now, lang)
        items.append(
            QueueItem(
                id=row.id,
                tracking_number=row.tracking_number,
                sop_title=definition.title,
                step_title=step_title(definition, row.step),
                unit=unit_name(region, row.unit),
                status=row.status,
                due_text=due_text,
                due_local=web.registry.local_text(row.due_at, row.region) if row.due_at else "",
                due_iso=row.due_at.isoformat() if row.due_at else "",
                breached=breached,
                paused=row.paused,
            )
        )
    context = {
        "items": items,
        "sops": scope.sops,
        "steps": scope.steps,
        "channels": sorted(channels.items()),
        "statuses": OPEN_STATUSES,
        "chosen": {k: filters.get(k, "") for k in QUEUE_FILTERS},
        "filter_error": filter_error,
        "has_roles": not scope.empty,
        "may_record": bool(recordable_sops(web, actor)),
        "escalations": escalation_items(web, db, actor, now, lang, limit=10),
        "self_url": _queue_url(filters, after if cursor else None),
        "next_url": _queue_url(filters, result.next_cursor.encode())
        if result.next_cursor
        else None,
        "first_url": _queue_url(filters) if cursor else None,
        "notice": i18n.translate("case.gone", lang) if pindah else None,
        "refreshed": web.registry.local_text(now, scope.regions[0]) if scope.regions else "",
        "server_now": now.isoformat(),
    }
    return page(request, "antrean.html", context, block="queue_list")


# --- escalations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EscalationItem:
    task_id: int
    case_id: int
    tracking_number: str
    sop_title: str
    step_title: str
    unit: str
    unit_key: str
    level: int
    role_title: str
    since: str
    due_text: str
    due_iso: str
    breached: bool
    units: tuple[tuple[str, str], ...]
    can_intervene: bool


def escalation_items(
    web: Web, db: Session, actor: Actor, now: datetime, lang: str, *, limit: int = 200
) -> list[EscalationItem]:
    """The open escalations waiting on the actor, with whether the SOP lets them intervene."""
    out = []
    for r in escalations_for(db, actor, limit=limit):
        sop = web.registry.by_hash(r.content_hash).sop
        region = web.registry.region(r.region)
        allowed = set(sop.interventions.by) if sop.interventions else set()
        mine = set(actor.roles_for(r.region, r.case_unit, sop, r.case_id))
        due_text, breached = i18n.time_left(r.due_at, now, lang)
        out.append(
            EscalationItem(
                task_id=r.task_id,
                case_id=r.case_id,
                tracking_number=r.tracking_number,
                sop_title=sop.title,
                step_title=step_title(sop, r.case_step),
                unit=unit_name(region, r.case_unit),
                unit_key=r.case_unit or "",
                level=r.level,
                role_title=role_title(sop, r.role),
                since=web.registry.local_text(r.created_at, r.region),
                due_text=due_text,
                due_iso=r.due_at.isoformat() if r.due_at else "",
                breached=breached,
                units=tuple((k, u.name) for k, u in region.units.items()),
                can_intervene=bool(allowed & mine),
            )
        )
    return out


# --- the case page ---------------------------------------------------------------------------


def recordable_sops(web: Web, actor: Actor) -> list[Sop]:
    """The newest published version of every SOP this user may record a new case of
    (``/kasus/baru``, :mod:`web.staff_submit`); the engine checks the same scope on submit."""
    out = []
    for sop_id in sorted(web.registry.catalog.latest()):
        try:
            sop = web.registry.latest(sop_id).sop
        except KeyError:
            continue  # in the files but not published
        allowed, units = submission_scope(actor, sop)
        # Unit staff are offered an SOP only if its routing can bring a case to their unit.
        if allowed and (units is None or any(rule.unit in units for rule in sop.routing)):
            out.append(sop)
    return out


def case_for(web: Web, case_id: int, actor: Actor) -> tuple[CaseView, Sop, list[str]]:
    """The case, its SOP version and the actor's roles at it; 404 unless the actor has one."""
    try:
        view = web.cases.get(case_id)
    except NotFound:
        raise NotFoundException() from None
    sop = web.registry.by_hash(view.content_hash).sop
    roles = actor.roles_for(view.region, view.unit, sop, view.id)
    if not roles:
        raise NotFoundException()  # the same answer as for an id that does not exist
    return view, sop, roles


@dataclass(frozen=True)
class Input:
    name: str  # the form field's name (prefixed)
    entry: str
    label: str
    kind: str  # textarea, select, input
    input_type: str
    options: tuple[tuple[str, str], ...]
    required: bool
    value: str


@dataclass(frozen=True)
class ActionForm:
    action: str
    label: str
    inputs: tuple[Input, ...]
    moves: bool
    error: str | None


def _input(sop: Sop, region: Region, entry: str, required: bool, value: str, lang: str) -> Input:
    spec = field_spec(sop, entry)
    name = ENTRY_PREFIX + entry
    if entry == "unit" or (spec is not None and spec.type is FieldType.unit):
        options = tuple((key, u.name) for key, u in region.units.items())
        label = i18n.translate("entry.unit", lang) if entry == "unit" else field_label(sop, entry)
        return Input(name, entry, label, "select", "", options, required, value)
    label = field_label(sop, entry)
    if spec is not None and spec.type is FieldType.choice:
        options = tuple((str(o), str(o)) for o in spec.options)
        return Input(name, entry, label, "select", "", options, required, value)
    if spec is not None and spec.type is FieldType.boolean:
        options = (
            ("ya", i18n.translate("common.yes", lang)),
            ("tidak", i18n.translate("common.no", lang)),
        )
        return Input(name, entry, label, "select", "", options, required, value)
    if spec is not None and spec.type is FieldType.number:
        return Input(name, entry, label, "input", "number", (), required, value)
    if spec is not None and spec.type is FieldType.date:
        return Input(name, entry, label, "input", "date", (), required, value)
    return Input(name, entry, label, "textarea", "", (), required, value)


def action_forms(
    web: Web,
    view: CaseView,
    sop: Sop,
    offers: list[Offer],
    lang: str,
    error: tuple[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> list[ActionForm]:
    region = web.registry.region(view.region)
    step = sop.steps.get(view.step)
    forms = []
    for offer in offers:
        declared = step.actions.get(offer.action) if step else None
        optional = [e for e in (declared.accepts if declared else []) if e not in offer.requires]
        mine = values if error and error[0] == offer.action else None
        inputs = tuple(
            _input(sop, region, entry, required, (mine or {}).get(entry, ""), lang)
            for entry, required in [(e, True) for e in offer.requires]
            + [(e, False) for e in optional]
        )
        forms.append(
            ActionForm(
                offer.action,
                offer.label,
                inputs,
                offer.moves,
                error[1] if error and error[0] == offer.action else None,
            )
        )
    return forms


@dataclass(frozen=True)
class EventItem:
    seq: int
    at: str
    kind: str
    title: str
    actor: str
    role: str
    from_step: str
    to_step: str
    moved: bool
    details: tuple[tuple[str, str], ...]


def event_items(web: Web, view: CaseView, sop: Sop, lang: str) -> list[EventItem]:
    region = web.registry.region(view.region)
    out = []
    for e in view.events:
        out.append(
            EventItem(
                seq=e.seq,
                at=web.registry.local_text(e.at, view.region),
                kind=e.kind,
                title=_event_title(sop, e, lang),
                actor=e.actor_name,
                role=role_title(sop, e.role),
                from_step=step_title(sop, e.from_step),
                to_step=step_title(sop, e.to_step),
                moved=e.from_step != e.to_step and e.to_step is not None,
                details=tuple(_event_details(sop, region, e, lang)),
            )
        )
    return out


def _event_title(sop: Sop, e: EventView, lang: str) -> str:
    if e.action and e.action != "submit" and e.from_step in sop.steps:
        action = sop.steps[e.from_step].actions.get(e.action)
        if action is not None:
            return action.label or e.action
    key = f"event.{e.kind}"
    try:
        return i18n.translate(key, lang)
    except KeyError:
        return e.kind


def _event_details(sop: Sop, region: Region, e: EventView, lang: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    entries = e.payload.get("entries")
    if isinstance(entries, dict):
        for name, value in entries.items():
            label = i18n.translate("entry.unit", lang) if name == "unit" else field_label(sop, name)
            shown = unit_name(region, str(value)) if name == "unit" else show_value(value, lang)
            out.append((label, shown))
    for key in ("reason", "note", "instruction"):
        value = e.payload.get(key)
        if isinstance(value, str) and value:
            step = sop.steps.get(e.from_step or "")
            if key == "reason" and e.kind == "pause" and step is not None:
                value = step.pauses.get(value, value)
            out.append((key, value))
    if e.kind == "intervention" and isinstance(e.payload.get("unit"), str):
        out.append((i18n.translate("entry.unit", lang), unit_name(region, e.payload["unit"])))
    return out


@dataclass(frozen=True)
class VisitItem:
    step: str
    role: str
    unit: str
    entered: str
    left: str
    due: str
    limit: str
    outcome: str | None  # met / breached / None
    open: bool
    late_now: bool


def visit_items(web: Web, view: CaseView, sop: Sop, now: datetime) -> list[VisitItem]:
    region = web.registry.region(view.region)
    out = []
    for v in view.visits:
        out.append(_visit_item(web, view, sop, region, v, now))
    return out


def _visit_item(
    web: Web, view: CaseView, sop: Sop, region: Region, v: VisitView, now: datetime
) -> VisitItem:
    local = web.registry.local_text
    return VisitItem(
        step=step_title(sop, v.step),
        role=role_title(sop, v.role),
        unit=unit_name(region, v.unit) if v.unit else "-",
        entered=local(v.entered_at, view.region),
        left=local(v.left_at, view.region) if v.left_at else "",
        due=local(v.due_at, view.region) if v.due_at else "",
        limit=v.limit_text or "",
        outcome=v.outcome,
        open=v.left_at is None,
        late_now=v.left_at is None and v.due_at is not None and v.due_at < now,
    )


def case_context(
    web: Web,
    view: CaseView,
    sop: Sop,
    actor: Actor,
    lang: str,
    *,
    error: tuple[str, str] | None = None,
    general_error: str | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    region = web.registry.region(view.region)
    now = web.clock.now()
    visit = view.open_visit
    due_text, breached = i18n.time_left(visit.due_at if visit else None, now, lang)
    reporter: dict[str, str] | None = None
    if may_see_reporter(actor, view, sop):  # who needs it: sop_platform.personal_data
        found = web.cases.reporter(view.id)
        if found is not None:
            reporter = {
                i18n.translate("reporter.name", lang): found.name or "",
                i18n.translate("reporter.nik", lang): found.nik or "",
                i18n.translate("reporter.email", lang): found.email or "",
                i18n.translate("reporter.phone", lang): found.phone or "",
            }
            for key, value in (found.extra or {}).items():
                reporter[key.replace("_", " ").capitalize()] = str(value)
            reporter = {k: v for k, v in reporter.items() if v}
    channel = region.channels.get(view.channel)
    offers = web.cases.available_actions(view.id, actor)
    found_rating = web.feedback.rating(view.id)
    rating = None
    if found_rating is not None:
        rating = {
            "score": found_rating.score,
            "word": i18n.translate(f"rating.word.{found_rating.score}", lang),
            "comment": found_rating.comment or "",
            "at": web.registry.local_text(found_rating.created_at, view.region),
        }
    return {
        "case": view,
        "sop": sop,
        "region_name": region.name,
        "step_title": step_title(sop, view.step),
        "unit_name": unit_name(region, view.unit),
        "channel_title": channel.title if channel else view.channel,
        "received": web.registry.local_text(view.created_at, view.region),
        "due_text": due_text if visit else "",
        "due_local": web.registry.local_text(visit.due_at, view.region)
        if visit and visit.due_at
        else "",
        "breached": breached,
        "fields": [
            (field_label(sop, name), show_value(value, lang)) for name, value in view.fields.items()
        ],
        "reporter": reporter,
        "rating": rating,
        "forms": action_forms(web, view, sop, offers, lang, error, values),
        "events": event_items(web, view, sop, lang),
        "visits": visit_items(web, view, sop, now),
        "general_error": general_error,
        "notice": notice,
        "powers": case_powers(web, view, sop, actor),
        "attachments": [
            {
                "id": a.id,
                "filename": a.filename,
                "content_type": a.content_type,
                "size_text": _size_text(a.size),
            }
            for a in web.attachments.for_case(view.id)
        ],
        "flowchart": render_flowchart(
            sop,
            current=view.step,
            visited=[v.step for v in view.visits],
            title=i18n.translate("case.flowchart.label", lang).format(step_title(sop, view.step)),
        ),
        "server_now": now.isoformat(),
        "due_iso": visit.due_at.isoformat() if visit and visit.due_at else "",
        "current_path": f"/kasus/{view.id}",
    }


def _size_text(size: int) -> str:
    return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


@get("/kasus/{case_id:int}/lampiran/{attachment_id:int}", name="attachment")
async def attachment(
    state: State,
    actor: NamedDependency[Actor],
    case_id: FromPath[int],
    attachment_id: FromPath[int],
) -> Response[bytes]:
    return await blocking(_attachment, web_of(state), actor, case_id, attachment_id)


def _attachment(web: Web, actor: Actor, case_id: int, attachment_id: int) -> Response[bytes]:
    """A case's file, under the case page's scope rule: the same 404 for another case's file,
    a case out of scope or an id that does not exist."""
    case_for(web, case_id, actor)
    try:
        info, handle = web.attachments.open(attachment_id)
    except NotFound:
        raise NotFoundException() from None
    with handle:
        if info.case_id != case_id:
            raise NotFoundException()
        content = handle.read()
    quoted = quote(info.filename)
    return Response(
        content,
        media_type=info.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quoted}",
            "Cache-Control": "private, no-store",
        },
    )


@get("/kasus/{case_id:int}", name="case")
async def case_page(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    case_id: FromPath[int],
    ok: FromQuery[str] = "",
) -> Response[Any]:
    return await blocking(_case_page, request, web_of(state), actor, case_id, bool(ok))


def _case_page(
    request: Request[Any, Any, Any], web: Web, actor: Actor, case_id: int, ok: bool
) -> Response[Any]:
    lang = lang_of(request)
    view, sop, _roles = case_for(web, case_id, actor)
    notice = i18n.translate("case.done", lang) if ok else None
    return page(
        request,
        "kasus.html",
        case_context(web, view, sop, actor, lang, notice=notice),
        block="case_body",
    )


@post("/kasus/{case_id:int}/tindakan", name="act")
async def act(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    case_id: FromPath[int],
    data: Annotated[dict[str, Any], FORM],
) -> Response[Any]:
    return await blocking(_act, request, web_of(state), actor, case_id, data)


def _act(
    request: Request[Any, Any, Any], web: Web, actor: Actor, case_id: int, data: dict[str, Any]
) -> Response[Any]:
    lang = lang_of(request)
    view, sop, _roles = case_for(web, case_id, actor)
    action = str(data.get("action") or "").strip()
    try:
        revision = int(str(data.get("revision") or ""))
    except ValueError:
        raise ValidationException("revision") from None
    values = {
        key[len(ENTRY_PREFIX) :]: str(value)
        for key, value in data.items()
        if key.startswith(ENTRY_PREFIX) and isinstance(value, str)
    }
    payload = {k: v for k, v in values.items() if v.strip()}
    try:
        web.cases.act(case_id, actor, action, payload, expected_revision=revision)
    except Conflict as err:
        # Show the case as it is now, with the new revision, and say what happened.
        fresh, sop, _ = case_for(web, case_id, actor)
        message = i18n.message_of(err, lang)
        context = case_context(web, fresh, sop, actor, lang, general_error=message)
        return page(request, "kasus.html", context, block="case_body", status_code=409)
    except EngineError as err:
        message = i18n.message_of(err, lang)
        context = case_context(web, view, sop, actor, lang, error=(action, message), values=values)
        if not any(f.action == action for f in context["forms"]):
            context["general_error"] = message
        return page(request, "kasus.html", context, block="case_body", status_code=422)
    return _after_change(request, web, actor, case_id, back="")


# --- the case's clock and interventions ------------------------------------------------------


@dataclass(frozen=True)
class Powers:
    """What the actor may do to the case besides the SOP's actions: stop or restart the step's
    clock (for a reason the step declares) and intervene (where the SOP names the actor's role)."""

    pause_reasons: tuple[tuple[str, str], ...]
    paused_reason: str | None  # the label, while the clock is stopped and the actor may resume
    can_intervene: bool
    units: tuple[tuple[str, str], ...]
    steps: tuple[tuple[str, str], ...]


def case_powers(web: Web, view: CaseView, sop: Sop, actor: Actor) -> Powers:
    mine = set(actor.roles_for(view.region, view.unit, sop, view.id))
    step = sop.steps.get(view.step)
    clock_roles = {step.by} if step and step.by else set()
    for action in step.actions.values() if step else ():
        clock_roles.update(action.by)
    pause_reasons: tuple[tuple[str, str], ...] = ()
    paused_label = None
    if step is not None and not step.terminal and mine & clock_roles:
        with Session(web.engine) as db:
            paused = open_visit_pause(db, view.id)
        if paused is None and step.pauses:
            pause_reasons = tuple(step.pauses.items())
        elif paused is not None:
            paused_label = step.pauses.get(paused, paused)
    allowed = set(sop.interventions.by) if sop.interventions else set()
    can_intervene = bool(allowed & mine) and step is not None and not step.terminal
    region = web.registry.region(view.region)
    return Powers(
        pause_reasons,
        paused_label,
        can_intervene,
        tuple((k, u.name) for k, u in region.units.items()) if can_intervene else (),
        tuple((k, s.title) for k, s in sop.steps.items() if k != view.step)
        if can_intervene
        else (),
    )


def _after_change(
    request: Request[Any, Any, Any], web: Web, actor: Actor, case_id: int, back: str
) -> Response[Any]:
    """Where a successful action, pause, resume or intervention leads: the escalation list it came
    from, else the case (or the queue, when the case has left the actor's reach)."""
    lang = lang_of(request)
    if back == "eskalasi":
        return redirect(request, "/eskalasi?ok=1")
    fresh = web.cases.get(case_id)
    fresh_sop = web.registry.by_hash(fresh.content_hash).sop
    if not actor.roles_for(fresh.region, fresh.unit, fresh_sop, fresh.id):
        return redirect(request, "/antrean?pindah=1")
    if is_htmx(request):
        context = case_context(
            web, fresh, fresh_sop, actor, lang, notice=i18n.translate("case.done", lang)
        )
        return page(request, "kasus.html", context, block="case_body")
    return Redirect(f"/kasus/{case_id}?ok=1", status_code=303)


def _refused_here(
    request: Request[Any, Any, Any],
    web: Web,
    actor: Actor,
    case_id: int,
    err: EngineError,
    back: str,
) -> Response[Any]:
    lang = lang_of(request)
    message = i18n.message_of(err, lang)
    if back == "eskalasi":
        return page(
            request,
            "eskalasi.html",
            escalation_context(web, actor, lang, error=(case_id, message)),
            block="escalation_list",
            status_code=422,
        )
    view, sop, _ = case_for(web, case_id, actor)
    context = case_context(web, view, sop, actor, lang, general_error=message)
    return page(request, "kasus.html", context, block="case_body", status_code=422)


@post("/kasus/{case_id:int}/jeda", name="pause")
async def pause(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    case_id: FromPath[int],
    data: Annotated[dict[str, Any], FORM],
) -> Response[Any]:
    return await blocking(_clock_change, request, web_of(state), actor, case_id, data, True)


@post("/kasus/{case_id:int}/lanjut", name="resume")
async def resume(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    case_id: FromPath[int],
    data: Annotated[dict[str, Any], FORM],
) -> Response[Any]:
    return await blocking(_clock_change, request, web_of(state), actor, case_id, data, False)


def _clock_change(
    request: Request[Any, Any, Any],
    web: Web,
    actor: Actor,
    case_id: int,
    data: dict[str, Any],
    stop: bool,
) -> Response[Any]:
    case_for(web, case_id, actor)  # the same 404 outside the actor's scope
    note = form_text(data, "note") or None
    try:
        if stop:
            web.cases.pause(case_id, actor, form_text(data, "reason"), note)
        else:
            web.cases.resume(case_id, actor, note)
    except EngineError as err:
        return _refused_here(request, web, actor, case_id, err, "")
    return _after_change(request, web, actor, case_id, "")


@post("/kasus/{case_id:int}/intervensi", name="intervene")
async def intervene(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    case_id: FromPath[int],
    data: Annotated[dict[str, Any], FORM],
) -> Response[Any]:
    return await blocking(_intervene, request, web_of(state), actor, case_id, data)


def _intervene(
    request: Request[Any, Any, Any], web: Web, actor: Actor, case_id: int, data: dict[str, Any]
) -> Response[Any]:
    case_for(web, case_id, actor)
    back = "eskalasi" if form_text(data, "back") == "eskalasi" else ""
    try:
        web.cases.intervene(
            case_id,
            actor,
            form_text(data, "kind"),
            form_text(data, "reason"),
            unit=form_text(data, "unit") or None,
            to_step=form_text(data, "to_step") or None,
            instruction=form_text(data, "instruction") or None,
        )
    except EngineError as err:
        return _refused_here(request, web, actor, case_id, err, back)
    return _after_change(request, web, actor, case_id, back)


# --- the head of region's view: escalations ---------------------------------------------------


def escalation_context(
    web: Web, actor: Actor, lang: str, *, error: tuple[int, str] | None = None, ok: bool = False
) -> dict[str, Any]:
    now = web.clock.now()
    with Session(web.engine) as db:
        items = escalation_items(web, db, actor, now, lang)
    regions = sorted({g.region for g in actor.grants})
    return {
        "items": items,
        "error": error,
        "notice": i18n.translate("esc.done", lang) if ok else None,
        "server_now": now.isoformat(),
        "refreshed": web.registry.local_text(now, regions[0]) if regions else "",
    }


@get("/eskalasi", name="escalations")
async def escalations(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    ok: FromQuery[str] = "",
) -> Response[Any]:
    web = web_of(state)
    context = await blocking(escalation_context, web, actor, lang_of(request), ok=bool(ok))
    return page(request, "eskalasi.html", context, block="escalation_list")


ROUTES = [queue, case_page, act, attachment, pause, resume, intervene, escalations]
