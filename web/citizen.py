"""Citizen pages (no account): report, ask a question, attach photos, follow, rate.

A report form carries a one-time token (hidden field); it becomes the submission's idempotency
key, so a double click or a resent form makes one case, not two. Photos are checked by their
bytes before the case is submitted (a bad photo stops the report with the problem shown and
nothing stored), then attached right after it, all or none; if storing them fails the report
stands and the page says that the photos were not kept.

The tracking number alone shows the status, the current step and the public history: never the
reporter's data and never a staff member's name (only role titles and units), and of what staff
wrote only the answers (jawaban) and the progress reports addressed to the citizen. The secret
link (``/lacak/<number>/<key>``, shown once after reporting; the key is an HMAC of the number
under the app's secret, so nothing needs storing) is the reporter's proof: with it the reporter
sees the attached photos, takes the steps the SOP gives the reporter (Bantul: confirm that the
answer arrived) and rates the answer once the case is closed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from rules.model import FieldType, RoleKind, Sop
from sop_platform.attachments import (
    MAX_PHOTO_BYTES,
    MAX_PHOTOS,
    AttachmentInfo,
    InvalidAttachment,
    Upload,
    check_photos,
    size_text,
)
from sop_platform.cases import (
    Actor,
    CaseView,
    Conflict,
    EngineError,
    Grant,
    IdempotencyMismatch,
    NewCase,
    NotFound,
    ReporterInfo,
)
from sop_platform.feedback import RATABLE_STATUSES, Rating
from web import i18n
from web.context import Web, blocking, is_htmx, lang_of, page, web_of
from web.forms import ENTRY_PREFIX, FormInput, field_inputs, submission_fields
from web.staff import action_forms, field_label, role_title, show_value, step_title, unit_name

log = logging.getLogger("web")

PHOTO_FIELD = "foto"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
TRACKING_RE = re.compile(r"^[A-Z0-9-]{4,40}$")
# Room for the photos, the text and the rest of the form.
MAX_REPORT_BODY = MAX_PHOTOS * MAX_PHOTO_BYTES + 1024 * 1024
# Identity a reporter may give: ReporterInfo's own attributes, by the names SOPs use.
IDENTITY = (("nama", "name"), ("nomor_identitas", "nik"), ("email", "email"), ("telepon", "phone"))
IDENTITY_LABELS = {
    "nama": "reporter.name",
    "nomor_identitas": "reporter.nik",
    "email": "reporter.email",
    "telepon": "reporter.phone",
}
ALIASES = {"name": "nama", "nik": "nomor_identitas", "phone": "telepon"}
# Choice values that make a report a question or a suggestion (JSS: jenis).
QUESTION_KINDS = ("pertanyaan", "saran")


# --- the secret link ------------------------------------------------------------------------


def tracking_key(secret: str, tracking: str) -> str:
    """The secret half of the reporter's link: an HMAC of the tracking number (20 characters)."""
    digest = hmac.new(secret.encode(), b"lacak\0" + tracking.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:15]).decode()


def secret_path(web: Web, tracking: str) -> str:
    return f"/lacak/{tracking}/{tracking_key(web.settings.secret, tracking)}"


def _key_matches(web: Web, tracking: str, key: str) -> bool:
    return hmac.compare_digest(tracking_key(web.settings.secret, tracking), key)


# --- choosing a service ---------------------------------------------------------------------


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


def question_field(sop: Sop) -> tuple[str, tuple[str, ...]] | None:
    """The reporter's choice field that makes a report a question or suggestion, and which of
    those it offers (JSS Lampiran II: ``jenis: [pengaduan, pertanyaan, saran]``)."""
    for name in submission_fields(sop):
        spec = sop.fields[name]
        if spec.type is FieldType.choice:
            kinds = tuple(k for k in QUESTION_KINDS if k in [str(o) for o in spec.options])
            if kinds:
                return name, kinds
    return None


@dataclass(frozen=True)
class Category:
    """A value of the SOP's first choice field (kategori, layanan, ...), linked to its form."""

    label: str
    href: str


def categories(sop: Sop) -> tuple[str, list[Category]] | None:
    """The SOP's category field and its options, so a citizen can start from the category."""
    for name in submission_fields(sop):
        spec = sop.fields[name]
        if spec.type is FieldType.choice and spec.required:
            values = [str(o) for o in spec.options]
            return field_label(sop, name), [
                Category(v.replace("_", " "), f"/lapor/{sop.sop}?{ENTRY_PREFIX}{name}={v}")
                for v in values
            ]
    return None


def web_channel(sop: Sop) -> str:
    """The channel a report through this site arrives by: one named for the web if the SOP has
    it, else the SOP's first (JSS reports come through its web and app alike)."""
    channels = sop.submission.channels
    for name in channels:
        if "web" in name:
            return name
    return channels[0] if channels else "web"


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


def _asking(sop: Sop, values: dict[str, str]) -> str | None:
    """``pertanyaan`` or ``saran`` when the form is set to one, else ``None``."""
    found = question_field(sop)
    if found is None:
        return None
    chosen = values.get(ENTRY_PREFIX + found[0], "")
    return chosen if chosen in found[1] else None


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
        "inputs": field_inputs(sop, values, lang),
        "identity": _identity_inputs(sop, identity, lang),
        "identity_any_of": _identity_names(sop, lang),
        "anonymous": values.get("anonim") == "1",
        "confidential": values.get("rahasia") == "1",
        "asking": _asking(sop, values),
        "photos_max": MAX_PHOTOS,
        "photo_size": size_text(MAX_PHOTO_BYTES),
        "error": error,
        "current_path": f"/lapor/{sop.sop}",
    }


def _groups(sops: list[Sop], web: Web) -> list[tuple[str, list[Sop]]]:
    regions: dict[str, tuple[str, list[Sop]]] = {}
    for sop in sops:
        name = web.registry.region(sop.region).name
        regions.setdefault(sop.region, (name, []))[1].append(sop)
    return [regions[k] for k in sorted(regions)]


@get("/lapor", name="report_start")
async def report_start(request: Request[Any, Any, Any], state: State) -> Response[Any]:
    return await blocking(_report_start, request, web_of(state))


def _report_start(request: Request[Any, Any, Any], web: Web) -> Response[Any]:
    sops = citizen_sops(web)
    context = {
        "groups": _groups(sops, web),
        "categories": {sop.sop: categories(sop) for sop in sops},
        "questions": {sop.sop: question_field(sop) for sop in sops},
    }
    return page(request, "lapor.html", context)


@get("/tanya", name="ask_start")
async def ask_start(request: Request[Any, Any, Any], state: State) -> Response[Any]:
    return await blocking(_ask_start, request, web_of(state))


def _ask_start(request: Request[Any, Any, Any], web: Web) -> Response[Any]:
    """JSS pertanyaan & saran as an entry point of its own: the SOPs that take questions."""
    asks = [(sop, found) for sop in citizen_sops(web) if (found := question_field(sop))]
    groups = _groups([sop for sop, _ in asks], web)
    links = {
        sop.sop: [(kind, f"/lapor/{sop.sop}?{ENTRY_PREFIX}{name}={kind}") for kind in kinds]
        for sop, (name, kinds) in asks
    }
    return page(request, "tanya.html", {"groups": groups, "links": links})


@get("/lapor/{sop_id:str}", name="report_form")
async def report_form(
    request: Request[Any, Any, Any], state: State, sop_id: FromPath[str]
) -> Response[Any]:
    web = web_of(state)
    sop = await blocking(citizen_sop, web, sop_id)
    # A category chosen on the service list (?f_kategori=...) arrives chosen.
    preset = {
        k: v
        for k, v in request.query_params.items()
        if k.startswith(ENTRY_PREFIX) and isinstance(v, str) and len(v) <= 100
    }
    return page(request, "lapor_form.html", form_context(web, sop, lang_of(request), values=preset))


async def _read_photos(form: Any) -> list[Upload]:
    uploads = []
    for item in form.getall(PHOTO_FIELD, []):
        if isinstance(item, UploadFile):
            # One byte past the limit is enough to know it is too large.
            data = await item.read(MAX_PHOTO_BYTES + 1)
            uploads.append(Upload(item.filename or "", data))
            await item.close()
    return uploads


@post("/lapor/{sop_id:str}", name="report_submit", request_max_body_size=MAX_REPORT_BODY)
async def report_submit(
    request: Request[Any, Any, Any], state: State, sop_id: FromPath[str]
) -> Response[Any]:
    # Multipart (with photos) or URL-encoded (a client without file inputs); both parse here.
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    uploads = await _read_photos(form)
    return await blocking(_report_submit, request, web_of(state), sop_id, values, uploads)


def _report_submit(
    request: Request[Any, Any, Any],
    web: Web,
    sop_id: str,
    values: dict[str, str],
    uploads: list[Upload],
) -> Response[Any]:
    lang = lang_of(request)
    sop = citizen_sop(web, sop_id)
    token = values.get("token", "")
    if not TOKEN_RE.match(token):
        token = secrets.token_urlsafe(24)  # a form without a valid token still works, once
    try:
        photos = check_photos(uploads)
    except InvalidAttachment as err:
        message = i18n.message_of(err, lang)
        context = form_context(web, sop, lang, token=token, values=values, error=message)
        return page(request, "lapor_form.html", context, block="report_form", status_code=422)
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
        return page(request, "lapor_form.html", context, block="report_form", status_code=409)
    except EngineError as err:
        message = i18n.message_of(err, lang)
        context = form_context(web, sop, lang, token=token, values=values, error=message)
        return page(request, "lapor_form.html", context, block="report_form", status_code=422)
    target = secret_path(web, view.tracking_number).replace("/lacak/", "/lapor/terkirim/", 1)
    if photos:
        try:
            web.attachments.save(view.id, photos)
        except Exception:
            # The report stands (the citizen has a number); the photos are not half kept.
            log.exception("photos of case %s could not be stored", view.tracking_number)
            target += "?foto=gagal"
    if is_htmx(request):  # htmx loads the page itself (a 303 would be followed inside the XHR)
        return Response(content=b"", status_code=200, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)


def find_case(web: Web, tracking: str) -> CaseView | None:
    tracking = tracking.strip().upper()
    if not TRACKING_RE.match(tracking):
        return None
    try:
        return web.cases.find(tracking)
    except NotFound:
        return None


def _owned_case(web: Web, tracking: str, key: str) -> CaseView:
    """The case this secret link belongs to; 404 for a wrong key as for a wrong number."""
    view = find_case(web, tracking)
    if view is None or not _key_matches(web, view.tracking_number, key):
        raise NotFoundException()
    return view


@get("/lapor/terkirim/{tracking:str}/{key:str}", name="report_sent")
async def report_sent(
    request: Request[Any, Any, Any],
    state: State,
    tracking: FromPath[str],
    key: FromPath[str],
    foto: FromQuery[str | None] = None,
) -> Response[Any]:
    return await blocking(_report_sent, request, web_of(state), tracking, key, foto == "gagal")


def _report_sent(
    request: Request[Any, Any, Any], web: Web, tracking: str, key: str, photos_failed: bool
) -> Response[Any]:
    view = _owned_case(web, tracking, key)
    link = secret_path(web, view.tracking_number)
    context = {
        "tracking": view.tracking_number,
        "secret_path": link,
        "secret_url": str(request.base_url).rstrip("/") + link,
        "photos": web.attachments.for_case(view.id),
        "photos_failed": photos_failed,
    }
    return page(request, "lapor_terkirim.html", context)


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


def _answer(events: list[PublicEvent], lang: str) -> str | None:
    """The latest answer (jawaban) given, to show above the history."""
    label = i18n.translate("track.answer", lang)
    for e in reversed(events):
        for name, value in e.details:
            if name == label:
                return value
    return None


@get("/lacak/{tracking:str}", name="track")
async def track(
    request: Request[Any, Any, Any], state: State, tracking: FromPath[str]
) -> Response[Any]:
    return await blocking(_track, request, web_of(state), tracking)


def _track(request: Request[Any, Any, Any], web: Web, tracking: str) -> Response[Any]:
    lang = lang_of(request)
    view = find_case(web, tracking)
    # A confidential report is not on the public page at all: only its secret link opens it,
    # and the number alone answers as for a number that does not exist.
    if view is None or view.confidential:
        missing = {"number": tracking[:40], "error": i18n.translate("track.not_found", lang)}
        return page(request, "lacak.html", missing, status_code=404)
    return page(request, "lacak_kasus.html", track_context(web, view, lang, owner=False))


def citizen_actor(sop: Sop, view: CaseView) -> Actor:
    """The reporter, proved by the secret link: the SOP's citizen roles on this one case."""
    grants = tuple(
        Grant(view.region, role_id, None, case_id=view.id)
        for role_id, role in sop.roles.items()
        if role.kind is RoleKind.citizen
    )
    return Actor("Pelapor", grants)


def track_context(
    web: Web,
    view: CaseView,
    lang: str,
    *,
    owner: bool,
    action_error: tuple[str, str] | None = None,
    rating_error: str | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    sop = web.registry.by_hash(view.content_hash).sop
    events = public_events(web, view, sop, lang)
    context: dict[str, Any] = {
        "tracking": view.tracking_number,
        "sop_title": sop.title,
        "region_name": web.registry.region(view.region).name,
        "status": view.status,
        "step_title": step_title(sop, view.step),
        "received": web.registry.local_text(view.created_at, view.region),
        "updated": web.registry.local_text(view.updated_at, view.region),
        "events": events,
        "answer": _answer(events, lang),
        "owner": owner,
        "notice": notice,
        "forms": [],
        "photos": [],
        "rating": None,
        "ratable": False,
        "rating_error": rating_error,
        "revision": view.revision,
        "base": "",
    }
    if owner:
        actor = citizen_actor(sop, view)
        offers = web.cases.available_actions(view.id, actor)
        photos: list[AttachmentInfo] = web.attachments.for_case(view.id)
        rating: Rating | None = web.feedback.rating(view.id)
        context.update(
            {
                "forms": action_forms(web, view, sop, offers, lang, action_error),
                "photos": photos,
                "rating": rating,
                "ratable": rating is None and view.status in RATABLE_STATUSES,
                "base": secret_path(web, view.tracking_number),
            }
        )
    return context


@get("/lacak/{tracking:str}/{key:str}", name="track_owner")
async def track_owner(
    request: Request[Any, Any, Any], state: State, tracking: FromPath[str], key: FromPath[str]
) -> Response[Any]:
    return await blocking(_track_owner, request, web_of(state), tracking, key)


def _track_owner(
    request: Request[Any, Any, Any], web: Web, tracking: str, key: str
) -> Response[Any]:
    view = _owned_case(web, tracking, key)
    context = track_context(web, view, lang_of(request), owner=True)
    return page(request, "lacak_kasus.html", context)


@post("/lacak/{tracking:str}/{key:str}/nilai", name="track_rate")
async def track_rate(
    request: Request[Any, Any, Any], state: State, tracking: FromPath[str], key: FromPath[str]
) -> Response[Any]:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    return await blocking(_track_rate, request, web_of(state), tracking, key, values)


def _track_rate(
    request: Request[Any, Any, Any], web: Web, tracking: str, key: str, values: dict[str, str]
) -> Response[Any]:
    lang = lang_of(request)
    view = _owned_case(web, tracking, key)
    try:
        web.feedback.rate(view.id, values.get("nilai", ""), values.get("komentar"))
    except EngineError as err:
        message = i18n.message_of(err, lang)
        context = track_context(web, view, lang, owner=True, rating_error=message)
        return page(request, "lacak_kasus.html", context, block="rating", status_code=422)
    notice = i18n.translate("rating.thanks", lang)
    context = track_context(web, view, lang, owner=True, notice=notice)
    if is_htmx(request):
        return page(request, "lacak_kasus.html", context, block="rating")
    return Redirect(secret_path(web, view.tracking_number) + "#penilaian", status_code=303)


@post("/lacak/{tracking:str}/{key:str}/tindakan", name="track_act")
async def track_act(
    request: Request[Any, Any, Any], state: State, tracking: FromPath[str], key: FromPath[str]
) -> Response[Any]:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    return await blocking(_track_act, request, web_of(state), tracking, key, values)


def _track_act(
    request: Request[Any, Any, Any], web: Web, tracking: str, key: str, values: dict[str, str]
) -> Response[Any]:
    """A step the SOP gives the reporter (e.g. confirm that the answer arrived)."""
    lang = lang_of(request)
    view = _owned_case(web, tracking, key)
    sop = web.registry.by_hash(view.content_hash).sop
    action = values.get("action", "")
    entries = {
        k[len(ENTRY_PREFIX) :]: v
        for k, v in values.items()
        if k.startswith(ENTRY_PREFIX) and v.strip()
    }
    try:
        revision = int(values.get("revision", ""))
    except ValueError:
        revision = None
    try:
        web.cases.act(view.id, citizen_actor(sop, view), action, entries, revision)
    except EngineError as err:
        message = i18n.message_of(err, lang)
        fresh = find_case(web, view.tracking_number) or view
        context = track_context(web, fresh, lang, owner=True, action_error=(action, message))
        status = 409 if isinstance(err, Conflict) else 422
        return page(request, "lacak_kasus.html", context, block="track_body", status_code=status)
    return Redirect(secret_path(web, view.tracking_number), status_code=303)


@get("/lacak/{tracking:str}/{key:str}/foto/{attachment_id:int}", name="track_photo")
async def track_photo(
    state: State, tracking: FromPath[str], key: FromPath[str], attachment_id: FromPath[int]
) -> Response[bytes]:
    return await blocking(_track_photo, web_of(state), tracking, key, attachment_id)


def _track_photo(web: Web, tracking: str, key: str, attachment_id: int) -> Response[bytes]:
    """The reporter's own photo, with the secret link; another case's id is not found."""
    view = _owned_case(web, tracking, key)
    try:
        info, handle = web.attachments.open(attachment_id)
    except NotFound:
        raise NotFoundException() from None
    with handle:
        if info.case_id != view.id:
            raise NotFoundException()
        content = handle.read()
    return Response(
        content,
        media_type=info.content_type,
        headers={"Cache-Control": "private, no-store", "Content-Disposition": "inline"},
    )


ROUTES = [
    track_photo,
    report_start,
    ask_start,
    report_form,
    report_submit,
    report_sent,
    track_start,
    track,
    track_owner,
    track_rate,
    track_act,
]
