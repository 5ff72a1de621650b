"""Staff pages: the work queue (antrean) and the case page (kasus) with its actions.

Scope: a case is shown only to someone holding a role at it (in its region; for unit staff, in its
unit). Anyone else gets the same 404 as for an id that does not exist, so guessing ids tells
nothing. The actions offered are exactly those the engine offers this actor now; posting one
calls the engine with the revision the page showed, so a stale page gets a conflict, not a lost
update. A refusal is shown in place, in the engine's own words.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import Body, FromPath, FromQuery
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
)
from web import i18n
from web.context import Web, blocking, is_htmx, lang_of, page, web_of
from web.queries import OPEN_STATUSES, Cursor, queue_page, queue_scope

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
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


def _queue_url(sop: str | None, status: str | None, after: str | None = None) -> str:
    params = {k: v for k, v in (("sop", sop), ("status", status), ("after", after)) if v}
    return "/antrean" + (f"?{urlencode(params)}" if params else "")


@get("/antrean", name="queue")
async def queue(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    db: NamedDependency[Session],
    sop: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
    after: FromQuery[str | None] = None,
    pindah: FromQuery[str | None] = None,
) -> Response[Any]:
    return await blocking(
        _queue, request, web_of(state), actor, db, sop, status, after, bool(pindah)
    )


def _queue(
    request: Request[Any, Any, Any],
    web: Web,
    actor: Actor,
    db: Session,
    sop: str | None,
    status: str | None,
    after: str | None,
    pindah: bool,
) -> Response[Any]:
    lang = lang_of(request)
    scope = queue_scope(db, web.registry, actor)
    status = status if status in OPEN_STATUSES else None
    sop = sop if sop in {s for s, _ in scope.sops} else None
    cursor = Cursor.decode(after)
    result = queue_page(
        db, scope, sop_id=sop, status=status, after=cursor, limit=web.settings.page_size
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
        "statuses": OPEN_STATUSES,
        "chosen_sop": sop or "",
        "chosen_status": status or "",
        "has_roles": not scope.empty,
        "self_url": _queue_url(sop, status, after if cursor else None),
        "next_url": _queue_url(sop, status, result.next_cursor.encode())
        if result.next_cursor
        else None,
        "first_url": _queue_url(sop, status) if cursor else None,
        "notice": i18n.translate("case.gone", lang) if pindah else None,
        "refreshed": web.registry.local_text(now, scope.regions[0]) if scope.regions else "",
    }
    return page(request, "antrean.html", context, block="queue_list")


# --- the case page ---------------------------------------------------------------------------


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
    if not view.anonymous and not view.confidential:
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
        "forms": action_forms(web, view, sop, offers, lang, error, values),
        "events": event_items(web, view, sop, lang),
        "visits": visit_items(web, view, sop, now),
        "general_error": general_error,
        "notice": notice,
        "current_path": f"/kasus/{view.id}",
    }


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
        message = err.message if lang == "id" else err.message_en
        context = case_context(web, fresh, sop, actor, lang, general_error=message)
        return page(request, "kasus.html", context, block="case_body", status_code=409)
    except EngineError as err:
        message = err.message if lang == "id" else err.message_en
        context = case_context(web, view, sop, actor, lang, error=(action, message), values=values)
        if not any(f.action == action for f in context["forms"]):
            context["general_error"] = message
        return page(request, "kasus.html", context, block="case_body", status_code=422)
    fresh = web.cases.get(case_id)
    fresh_sop = web.registry.by_hash(fresh.content_hash).sop
    if not actor.roles_for(fresh.region, fresh.unit, fresh_sop, fresh.id):
        target = "/antrean?pindah=1"
        if is_htmx(request):
            return Response(content=None, status_code=204, headers={"HX-Redirect": target})
        return Redirect(target, status_code=303)
    if is_htmx(request):
        context = case_context(
            web, fresh, fresh_sop, actor, lang, notice=i18n.translate("case.done", lang)
        )
        return page(request, "kasus.html", context, block="case_body")
    return Redirect(f"/kasus/{case_id}?ok=1", status_code=303)


ROUTES = [queue, case_page, act]
