"""Citizen pages (no account): make a report, then follow it by its tracking number.

A report form carries a one-time token (hidden field); it becomes the submission's idempotency
key, so a double click or a resent form makes one case, not two. The tracking page shows the
status, the current step and the public history: never the reporter's data and never a staff
member's name (only role titles and units), and of what staff wrote only the answers (jawaban)
and the progress reports addressed to the citizen.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect

from rules.model import FieldType, RoleKind, Sop
from sop_platform.cases import (
    CaseView,
    EngineError,
    IdempotencyMismatch,
    NewCase,
    NotFound,
    ReporterInfo,
)
from web import i18n
from web.context import Web, blocking, lang_of, page, web_of
from web.staff import field_label, role_title, show_value, step_title, unit_name

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
ENTRY_PREFIX = "f_"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
TRACKING_RE = re.compile(r"^[A-Z0-9-]{4,40}$")
# Identity a reporter may give: ReporterInfo's own attributes, by the names SOPs use.
IDENTITY = (("nama", "name"), ("nomor_identitas", "nik"), ("email", "email"), ("telepon", "phone"))
IDENTITY_LABELS = {
    "nama": "reporter.name",
    "nomor_identitas": "reporter.nik",
    "email": "reporter.email",
    "telepon": "reporter.phone",
}
ALIASES = {"name": "nama", "nik": "nomor_identitas", "phone": "telepon"}


def citizen_sops(web: Web) -> list[Sop]:
    """The newest published version of every SOP whose reports a citizen submits."""
    out = []
    for sop_id in sorted(web.registry.catalog.latest()):
        try:
            sop = web.registry.latest(sop_id).sop
        except KeyError:
            continue  # in the files but not published
        role = sop.roles.get(sop.submission.by)
        if role is not None and role.kind is RoleKind.citizen:
            out.append(sop)
    return out


def citizen_sop(web: Web, sop_id: str) -> Sop:
    for sop in citizen_sops(web):
        if sop.sop == sop_id:
            return sop
    raise NotFoundException()


def submission_fields(sop: Sop) -> list[str]:
    """The SOP's fields a reporter fills: those no action asks staff for."""
    by_actions = {
        name
        for step in sop.steps.values()
        for action in step.actions.values()
        for name in (*action.requires, *action.accepts)
    }
    return [name for name in sop.fields if name not in by_actions]


def web_channel(sop: Sop) -> str:
    """The channel a report through this site arrives by: one named for the web if the SOP has
    it, else the SOP's first (JSS reports come through its web and app alike)."""
    channels = sop.submission.channels
    for name in channels:
        if "web" in name:
            return name
    return channels[0] if channels else "web"


@dataclass(frozen=True)
class FormInput:
    name: str
    label: str
    kind: str  # select, textarea, input
    input_type: str
    options: tuple[tuple[str, str], ...]
    required: bool
    value: str


def _field_inputs(sop: Sop, values: dict[str, str], lang: str) -> list[FormInput]:
    out = []
    for name in submission_fields(sop):
        spec = sop.fields[name]
        label = field_label(sop, name)
        value = values.get(ENTRY_PREFIX + name, "")
        key = ENTRY_PREFIX + name
        if spec.type is FieldType.choice:
            options = tuple((str(o), str(o)) for o in spec.options)
            out.append(FormInput(key, label, "select", "", options, spec.required, value))
        elif spec.type is FieldType.boolean:
            yes, no = i18n.translate("common.yes", lang), i18n.translate("common.no", lang)
            options = (("ya", yes), ("tidak", no))
            out.append(FormInput(key, label, "select", "", options, spec.required, value))
        elif spec.type in (FieldType.number, FieldType.date):
            kind = "number" if spec.type is FieldType.number else "date"
            out.append(FormInput(key, label, "input", kind, (), spec.required, value))
        else:
            out.append(FormInput(key, label, "input", "text", (), spec.required, value))
    return out


def _identity_inputs(sop: Sop, values: dict[str, str], lang: str) -> list[FormInput]:
    names = [name for name, _ in IDENTITY]
    names += [n for n in sop.submission.identity_any_of if n not in names and n not in ALIASES]
    out = []
    for name in names:
        label = (
            i18n.translate(IDENTITY_LABELS[name], lang)
            if name in IDENTITY_LABELS
            else name.replace("_", " ").upper()
            if name.startswith("akun_")
            else name.replace("_", " ").capitalize()
        )
        kind = {"email": "email", "telepon": "tel"}.get(name, "text")
        out.append(FormInput("id_" + name, label, "input", kind, (), False, values.get(name, "")))
    return out


def _identity_names(sop: Sop, lang: str) -> str:
    labels = []
    for name in sop.submission.identity_any_of:
        name = ALIASES.get(name, name)
        if name in IDENTITY_LABELS:
            labels.append(i18n.translate(IDENTITY_LABELS[name], lang))
        else:
            labels.append(name.replace("_", " ").upper() if name.startswith("akun_") else name)
    return ", ".join(labels)


def form_context(
    web: Web,
    sop: Sop,
    lang: str,
    *,
    token: str | None = None,
    values: dict[str, str] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    values = values or {}
    identity = {k[3:]: v for k, v in values.items() if k.startswith("id_")}
    return {
        "sop": sop,
        "region_name": web.registry.region(sop.region).name,
        "token": token or secrets.token_urlsafe(24),
        "text": values.get("isi", ""),
        "inputs": _field_inputs(sop, values, lang),
        "identity": _identity_inputs(sop, identity, lang),
        "identity_any_of": _identity_names(sop, lang),
        "anonymous": values.get("anonim") == "1",
        "confidential": values.get("rahasia") == "1",
        "error": error,
        "current_path": f"/lapor/{sop.sop}",
    }


@get("/lapor", name="report_start")
async def report_start(request: Request[Any, Any, Any], state: State) -> Response[Any]:
    return await blocking(_report_start, request, web_of(state))


def _report_start(request: Request[Any, Any, Any], web: Web) -> Response[Any]:
    regions: dict[str, tuple[str, list[Sop]]] = {}
    for sop in citizen_sops(web):
        name = web.registry.region(sop.region).name
        regions.setdefault(sop.region, (name, []))[1].append(sop)
    groups = [regions[k] for k in sorted(regions)]
    return page(request, "lapor.html", {"groups": groups})


@get("/lapor/{sop_id:str}", name="report_form")
async def report_form(
    request: Request[Any, Any, Any], state: State, sop_id: FromPath[str]
) -> Response[Any]:
    web = web_of(state)
    sop = await blocking(citizen_sop, web, sop_id)
    return page(request, "lapor_form.html", form_context(web, sop, lang_of(request)))


@post("/lapor/{sop_id:str}", name="report_submit")
async def report_submit(
    request: Request[Any, Any, Any],
    state: State,
    sop_id: FromPath[str],
    data: Annotated[dict[str, Any], FORM],
) -> Response[Any]:
    return await blocking(_report_submit, request, web_of(state), sop_id, data)


def _report_submit(
    request: Request[Any, Any, Any], web: Web, sop_id: str, data: dict[str, Any]
) -> Response[Any]:
    lang = lang_of(request)
    sop = citizen_sop(web, sop_id)
    values = {k: str(v) for k, v in data.items() if isinstance(v, str)}
    token = values.get("token", "")
    if not TOKEN_RE.match(token):
        token = secrets.token_urlsafe(24)  # a form without a valid token still works, once
    anonymous = values.get("anonim") == "1"
    confidential = values.get("rahasia") == "1"
    identity = {k[3:]: v.strip() for k, v in values.items() if k.startswith("id_") and v.strip()}
    reporter = None
    if not anonymous and identity:
        reporter = ReporterInfo(
            name=identity.pop("nama", None),
            nik=identity.pop("nomor_identitas", None),
            email=identity.pop("email", None),
            phone=identity.pop("telepon", None),
            extra={k: v for k, v in identity.items() if k in sop.submission.identity_any_of},
        )
    fields = {
        name: values[ENTRY_PREFIX + name]
        for name in submission_fields(sop)
        if values.get(ENTRY_PREFIX + name, "").strip()
    }
    new = NewCase(
        sop_id=sop.sop,
        channel=web_channel(sop),
        text=values.get("isi", ""),
        fields=fields,
        reporter=reporter,
        anonymous=anonymous,
        confidential=confidential,
        idempotency_key=f"web-lapor:{token}",
    )
    try:
        view = web.cases.submit(new)
    except IdempotencyMismatch:
        context = form_context(
            web, sop, lang, values=values, error=i18n.translate("report.reused", lang)
        )
        return page(request, "lapor_form.html", context, status_code=409)
    except EngineError as err:
        message = err.message if lang == "id" else err.message_en
        context = form_context(web, sop, lang, token=token, values=values, error=message)
        return page(request, "lapor_form.html", context, status_code=422)
    return Redirect(f"/lapor/terkirim/{view.tracking_number}", status_code=303)


def find_case(web: Web, tracking: str) -> CaseView | None:
    tracking = tracking.strip().upper()
    if not TRACKING_RE.match(tracking):
        return None
    try:
        return web.cases.find(tracking)
    except NotFound:
        return None


@get("/lapor/terkirim/{tracking:str}", name="report_sent")
async def report_sent(
    request: Request[Any, Any, Any], state: State, tracking: FromPath[str]
) -> Response[Any]:
    view = await blocking(find_case, web_of(state), tracking)
    if view is None:
        raise NotFoundException()
    return page(request, "lapor_terkirim.html", {"tracking": view.tracking_number})


@get("/lacak", name="track_start")
async def track_start(
    request: Request[Any, Any, Any], nomor: FromQuery[str | None] = None
) -> Response[Any]:
    if nomor and nomor.strip():
        return Redirect(f"/lacak/{nomor.strip().upper()}", status_code=303)
    return page(request, "lacak.html", {"number": "", "error": None})


@dataclass(frozen=True)
class PublicEvent:
    at: str
    title: str
    by: str
    step: str
    moved: bool
    details: tuple[tuple[str, str], ...]


def public_events(web: Web, view: CaseView, sop: Sop, lang: str) -> list[PublicEvent]:
    """What the reporter may read of the history: no names, no reporter data, no staff notes."""
    region = web.registry.region(view.region)
    citizen_roles = {r for r, role in sop.roles.items() if role.kind is RoleKind.citizen}
    out = []
    for e in view.events:
        if e.kind in ("intervention",):
            continue
        if e.kind == "submit":
            title, by = i18n.translate("event.submit", lang), ""
        else:
            action = None
            if e.action and e.from_step in sop.steps:
                action = sop.steps[e.from_step].actions.get(e.action)
            title = (action.label or e.action or "") if action else _kind_title(e.kind, lang)
            by = role_title(sop, e.role) if e.role else ""
            role = sop.roles.get(e.role or "")
            if role is not None and role.kind is RoleKind.unit_staff and e.unit:
                by = f"{by}, {unit_name(region, e.unit)}"
        details: list[tuple[str, str]] = []
        entries = e.payload.get("entries")
        if isinstance(entries, dict):
            if "jawaban" in entries:
                details.append((i18n.translate("track.answer", lang), str(entries["jawaban"])))
            report_to = set(e.payload.get("report_to") or [])
            if "laporan" in entries and report_to & citizen_roles:
                details.append((field_label(sop, "laporan"), str(entries["laporan"])))
            for name, value in entries.items():
                spec = sop.fields.get(name)
                if spec is not None and spec.type is FieldType.choice and name not in ("unit",):
                    details.append((field_label(sop, name), show_value(value, lang)))
        if e.kind == "pause":
            step = sop.steps.get(e.from_step or "")
            reason = str(e.payload.get("reason") or "")
            if step is not None and reason in step.pauses:
                details.append((i18n.translate("event.pause", lang), step.pauses[reason]))
        out.append(
            PublicEvent(
                at=web.registry.local_text(e.at, view.region),
                title=title,
                by=by,
                step=step_title(sop, e.to_step),
                moved=e.from_step != e.to_step,
                details=tuple(details),
            )
        )
    return out


def _kind_title(kind: str, lang: str) -> str:
    try:
        return i18n.translate(f"event.{kind}", lang)
    except KeyError:
        return kind


@get("/lacak/{tracking:str}", name="track")
async def track(
    request: Request[Any, Any, Any], state: State, tracking: FromPath[str]
) -> Response[Any]:
    return await blocking(_track, request, web_of(state), tracking)


def _track(request: Request[Any, Any, Any], web: Web, tracking: str) -> Response[Any]:
    lang = lang_of(request)
    view = find_case(web, tracking)
    if view is None:
        missing = {"number": tracking[:40], "error": i18n.translate("track.not_found", lang)}
        return page(request, "lacak.html", missing, status_code=404)
    sop = web.registry.by_hash(view.content_hash).sop
    context: dict[str, Any] = {
        "tracking": view.tracking_number,
        "sop_title": sop.title,
        "region_name": web.registry.region(view.region).name,
        "status": view.status,
        "step_title": step_title(sop, view.step),
        "received": web.registry.local_text(view.created_at, view.region),
        "updated": web.registry.local_text(view.updated_at, view.region),
        "events": public_events(web, view, sop, lang),
    }
    return page(request, "lacak_kasus.html", context)


ROUTES = [report_start, report_form, report_submit, report_sent, track_start, track]
