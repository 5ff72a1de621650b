"""``/api/v1`` handlers: the catalog (regions, units, SOPs), cases (submit, read, history, list,
actions offered, act) and public tracking.

The permission rules are the web pages' own: a case is seen only by someone holding a role at it
(:meth:`Actor.roles_for`: its region and, for unit staff, its unit); anyone else — another
region's key included — gets the same 404 as for an id that does not exist. Actions are exactly
the engine's offers, and acting goes through :meth:`CaseEngine.act`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.spec import SecurityRequirement
from litestar.params import HeaderParameter, JSONBody, PathParameter, QueryParameter
from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlmodel import Session

from rules.model import RoleKind, Sop
from sop_platform import service_requests
from sop_platform.cases import Actor, CaseView, NewCase, NotFound, ReporterInfo
from sop_platform.models import CaseRow, SopDefinitionRow, StepVisit
from sop_platform.personal_data import may_see_reporter
from sop_platform.service_requests import Arrival
from web.api.access import Caller, limit
from web.api.errors import ApiProblem, ErrorDetail, bad_input, responses
from web.api.schemas import (
    ActionIn,
    CaseOut,
    CasePage,
    CaseSummary,
    EventOut,
    FieldOut,
    HistoryOut,
    LocationOut,
    OfferOut,
    ReceiptOut,
    RegionOut,
    ReporterOut,
    SopOut,
    Status,
    SubmissionIn,
    TrackDetail,
    TrackEvent,
    TrackOut,
    UnitOut,
    VisitOut,
)
from web.citizen import TRACKING_RE, public_events, submission_fields, web_channel
from web.context import Web, blocking, lang_of, web_of
from web.staff import step_title, unit_name

_CASES = CaseRow.__table__  # type: ignore[attr-defined]
_VISITS = StepVisit.__table__  # type: ignore[attr-defined]
_DEFS = SopDefinitionRow.__table__  # type: ignore[attr-defined]

KEY_OR_SESSION: list[SecurityRequirement] = [{"apiKey": []}, {"session": []}]
ANYONE: list[SecurityRequirement] = [{"apiKey": []}, {"session": []}, {}]

IDENT_PATH = PathParameter(min_length=1, max_length=100, pattern=r"^[a-z][a-z0-9_-]*$")
# A case id in a path: positive and within the database's integer column.
CaseId = Annotated[int, PathParameter(ge=1, le=2_147_483_647)]
# What every route of a group declares for the OpenAPI document: its tag and who may call it.
CATALOG_ROUTE: dict[str, Any] = {"tags": ["catalog"], "security": ANYONE}
CASES_ROUTE: dict[str, Any] = {"tags": ["cases"], "security": KEY_OR_SESSION}
IDEMPOTENCY_KEY = HeaderParameter(
    name="Idempotency-Key",
    required=False,
    min_length=8,
    max_length=100,
    pattern=r"^[A-Za-z0-9_.:-]+$",
    description="Any unique value per report (a UUID): a retry with the same key and body "
    "returns the same case; the same key with another body is a 409.",
)


# --- the catalog -----------------------------------------------------------------------------


def _published(web: Web) -> list[Sop]:
    out = []
    for sop_id in sorted(web.registry.catalog.latest()):
        try:
            out.append(web.registry.latest(sop_id).sop)
        except KeyError:
            continue  # in the files but not published
    return out


def _sop_out(sop: Sop) -> SopOut:
    at_submission = set(submission_fields(sop))
    role = sop.roles.get(sop.submission.by)
    return SopOut(
        id=sop.sop,
        version=sop.version,
        region=sop.region,
        title=sop.title,
        summary=sop.summary,
        submitted_by=sop.submission.by,
        citizen=role is not None and role.kind is RoleKind.citizen,
        channels=list(sop.submission.channels),
        anonymous_allowed=sop.submission.anonymous_allowed,
        confidential_allowed=sop.submission.confidential_allowed,
        identity_any_of=list(sop.submission.identity_any_of),
        fields=[
            FieldOut(
                name=name,
                type=spec.type.value,
                label=spec.label,
                required=spec.required,
                options=list(spec.options),
                max_length=spec.max_length,
                at_submission=name in at_submission,
            )
            for name, spec in sop.fields.items()
        ],
        steps=list(sop.steps),
    )


def region_or_404(web: Web, region_id: str) -> None:
    """A 404 ``unknown_region`` for a region the catalog does not hold (catalog and reports)."""
    if region_id not in web.registry.catalog.regions:
        raise ApiProblem(
            404,
            "unknown_region",
            f"Daerah '{region_id}' tidak dikenal.",
            f"Unknown region '{region_id}'.",
        )


@get("/regions", summary="Regions", tags=["catalog"], security=ANYONE)
async def regions(state: State) -> list[RegionOut]:
    web = web_of(state)
    return [
        RegionOut(id=rid, name=r.name, level=r.level, timezone=r.calendar.timezone)
        for rid, r in sorted(web.registry.catalog.regions.items())
    ]


@get(
    "/regions/{region_id:str}/units",
    summary="Units of a region",
    responses=responses(400, 404),
    **CATALOG_ROUTE,
)
async def units(state: State, region_id: Annotated[str, IDENT_PATH]) -> list[UnitOut]:
    web = web_of(state)
    region_or_404(web, region_id)
    region = web.registry.region(region_id)
    return [UnitOut(key=k, code=u.code, name=u.name) for k, u in region.units.items()]


@get(
    "/sops",
    summary="Published SOPs (newest version of each)",
    responses=responses(400, 404),
    **CATALOG_ROUTE,
)
async def sops(
    state: State,
    region: Annotated[
        str | None, QueryParameter(max_length=64, description="Only this region's")
    ] = None,
) -> list[SopOut]:
    web = web_of(state)
    if region is not None:
        region_or_404(web, region)
    found = await blocking(_published, web)
    return [_sop_out(s) for s in found if region is None or s.region == region]


@get(
    "/sops/{sop_id:str}",
    summary="One SOP: its fields, channels and steps",
    responses=responses(400, 404),
    **CATALOG_ROUTE,
)
async def sop_detail(state: State, sop_id: Annotated[str, IDENT_PATH]) -> SopOut:
    web = web_of(state)
    for sop in await blocking(_published, web):
        if sop.sop == sop_id:
            return _sop_out(sop)
    raise ApiProblem(
        404, "unknown_sop", f"SOP '{sop_id}' tidak dikenal.", f"Unknown SOP '{sop_id}'."
    )


# --- reading cases ---------------------------------------------------------------------------


def _visible(web: Web, case_id: int, actor: Actor) -> tuple[CaseView, Sop]:
    """The case and its SOP version; 404 unless the actor holds a role at it."""
    try:
        view = web.cases.get(case_id)
    except NotFound:
        raise _no_case(case_id) from None
    sop = web.registry.by_hash(view.content_hash).sop
    if not actor.roles_for(view.region, view.unit, sop, view.id):
        raise _no_case(case_id)  # the same answer as for an id that does not exist
    return view, sop


def _no_case(case_id: int) -> ApiProblem:
    return ApiProblem(
        404, "not_found", f"Kasus {case_id} tidak ditemukan.", f"Case {case_id} not found."
    )


def _scalar(value: Any) -> str | int | float | bool:
    return value if isinstance(value, str | int | float | bool) else str(value)


def case_out(web: Web, view: CaseView, sop: Sop, actor: Actor) -> CaseOut:
    """The case as ``actor`` may read it: the reporter's identity only where the personal-data
    rules allow (:func:`sop_platform.personal_data.may_see_reporter`)."""
    region = web.registry.region(view.region)
    due_at, paused = open_visit(web, view.id)
    reporter = None
    if may_see_reporter(actor, view, sop):
        found = web.cases.reporter(view.id)
        if found is not None:
            reporter = ReporterOut(
                name=found.name,
                nik=found.nik,
                email=found.email,
                phone=found.phone,
                extra={str(k): str(v) for k, v in (found.extra or {}).items()},
            )
    arrival = service_requests.find([view.id], web.engine).get(view.id)
    location = None
    media_url = None
    if arrival is not None:
        a = arrival.arrival
        media_url = a.media_url
        if any(v is not None for v in (a.lat, a.long, a.address, a.address_id)):
            location = LocationOut(
                lat=a.lat, long=a.long, address=a.address, address_id=a.address_id
            )
    return CaseOut(
        id=view.id,
        tracking_number=view.tracking_number,
        region=view.region,
        sop=view.sop_id,
        sop_version=view.sop_version,
        step=view.step,
        step_title=step_title(sop, view.step),
        status=view.status,
        unit=view.unit,
        unit_name=unit_name(region, view.unit) if view.unit else None,
        channel=view.channel,
        text=view.text,
        fields={k: _scalar(v) for k, v in view.fields.items()},
        anonymous=view.anonymous,
        confidential=view.confidential,
        revision=view.revision,
        created_at=view.created_at,
        updated_at=view.updated_at,
        closed_at=view.closed_at,
        due_at=due_at,
        paused=paused,
        reporter=reporter,
        location=location,
        media_url=media_url,
    )


def open_visit(web: Web, case_id: int) -> tuple[datetime | None, bool]:
    """The open step visit's deadline and whether its clock is stopped, in one query (the
    case's whole history is not read for it)."""
    with Session(web.engine) as session, session.begin():
        found = (
            session.connection()
            .execute(
                select(_VISITS.c.due_at, _VISITS.c.paused_at)
                .where(_VISITS.c.case_id == case_id, _VISITS.c.left_at.is_(None))
                .order_by(_VISITS.c.entered_at.desc())
                .limit(1)
            )
            .first()
        )
    return (found.due_at, found.paused_at is not None) if found is not None else (None, False)


@get(
    "/cases/{case_id:int}",
    summary="A case",
    responses=responses(400, 401, 404),
    **CASES_ROUTE,
)
async def read_case(
    state: State,
    caller: NamedDependency[Caller],
    case_id: CaseId,
) -> CaseOut:
    web = web_of(state)

    def run() -> CaseOut:
        view, sop = _visible(web, case_id, caller.actor)
        return case_out(web, view, sop, caller.actor)

    return await blocking(run)


@get(
    "/cases/{case_id:int}/history",
    summary="A case's events and step visits",
    responses=responses(400, 401, 404),
    **CASES_ROUTE,
)
async def case_history(
    state: State,
    caller: NamedDependency[Caller],
    case_id: CaseId,
) -> HistoryOut:
    web = web_of(state)

    def run() -> HistoryOut:
        view, _sop = _visible(web, case_id, caller.actor)
        events = []
        for e in view.events:
            entries = e.payload.get("entries")
            note = next(
                (
                    str(e.payload[k])
                    for k in ("reason", "note", "instruction")
                    if isinstance(e.payload.get(k), str) and e.payload[k]
                ),
                None,
            )
            events.append(
                EventOut(
                    seq=e.seq,
                    at=e.at,
                    kind=e.kind,
                    actor=e.actor_name,
                    role=e.role,
                    action=e.action,
                    from_step=e.from_step,
                    to_step=e.to_step,
                    unit=e.unit,
                    entries={str(k): _scalar(v) for k, v in entries.items()}
                    if isinstance(entries, dict)
                    else {},
                    note=note,
                )
            )
        visits = [
            VisitOut(
                step=v.step,
                role=v.role,
                unit=v.unit,
                entered_at=v.entered_at,
                left_at=v.left_at,
                due_at=v.due_at,
                limit=v.limit_text,
                clock=v.clock,
                outcome=v.outcome,
            )
            for v in view.visits
        ]
        return HistoryOut(events=events, visits=visits)

    return await blocking(run)


def scope_condition(session: Session, web: Web, actor: Actor) -> ColumnElement[bool]:
    """Cases the actor holds a role at, as one SQL condition (the rule of ``roles_for``)."""
    regions = sorted({g.region for g in actor.grants})
    if not regions:
        return false()
    with session.begin():
        hashes = (
            session.connection()
            .execute(select(_DEFS.c.content_hash).where(_DEFS.c.region_id.in_(regions)))
            .scalars()
            .all()
        )
    anywhere: set[str] = set()
    in_unit: set[tuple[str, str]] = set()
    for content_hash in hashes:
        sop = web.registry.by_hash(content_hash).sop
        for g in actor.grants:
            if g.region != sop.region or g.role not in sop.roles:
                continue
            kind = sop.roles[g.role].kind
            if kind is RoleKind.unit_staff:
                if g.unit is not None:
                    in_unit.add((content_hash, g.unit))
            elif kind is not RoleKind.citizen:
                anywhere.add(content_hash)
    c = _CASES.c
    terms: list[ColumnElement[bool]] = []
    if anywhere:
        terms.append(c.content_hash.in_(sorted(anywhere)))
    terms += [and_(c.content_hash == h, c.unit_key == u) for h, u in sorted(in_unit)]
    return or_(*terms) if terms else false()


DATE_HELP = "ISO 8601 with an offset, e.g. 2025-11-24T09:00:00+07:00"


def _moment(name: str, text: str | None) -> datetime | None:
    """A query date-time: ISO 8601 with an offset (a bare number is not a date)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise bad_input(name, f"not a date-time; {DATE_HELP}") from None
    if value.tzinfo is None:
        raise bad_input(name, f"a date-time needs a time zone offset; {DATE_HELP}")
    return value


@get(
    "/cases",
    summary="Cases the caller may see, newest first, in pages",
    responses=responses(400, 401),
    **CASES_ROUTE,
)
async def list_cases(
    state: State,
    caller: NamedDependency[Caller],
    region: Annotated[str | None, QueryParameter(max_length=64)] = None,
    sop: Annotated[str | None, QueryParameter(max_length=100)] = None,
    status: Annotated[Status | None, QueryParameter()] = None,
    step: Annotated[str | None, QueryParameter(max_length=64)] = None,
    unit: Annotated[str | None, QueryParameter(max_length=64)] = None,
    created_from: Annotated[
        str | None, QueryParameter(format="date-time", max_length=40, description=DATE_HELP)
    ] = None,
    created_to: Annotated[
        str | None, QueryParameter(format="date-time", max_length=40, description=DATE_HELP)
    ] = None,
    after: Annotated[
        int | None, QueryParameter(ge=1, le=2_147_483_647, description="``next`` of the last page")
    ] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 25,
) -> CasePage:
    web = web_of(state)
    start, end = _moment("created_from", created_from), _moment("created_to", created_to)

    def run() -> CasePage:
        with Session(web.engine) as session:
            c = _CASES.c
            conditions: list[ColumnElement[bool]] = [scope_condition(session, web, caller.actor)]
            for column, value in (
                (c.region_id, region),
                (c.sop_id, sop),
                (c.status, status),
                (c.step, step),
                (c.unit_key, unit),
            ):
                if value is not None:
                    conditions.append(column == value)
            if start is not None:
                conditions.append(c.created_at >= start)
            if end is not None:
                conditions.append(c.created_at < end)
            if after is not None:
                conditions.append(c.id < after)
            query = (
                select(
                    c.id,
                    c.tracking_number,
                    c.region_id,
                    c.sop_id,
                    c.step,
                    c.status,
                    c.unit_key,
                    c.created_at,
                    c.updated_at,
                )
                .where(*conditions)
                .order_by(c.id.desc())
                .limit(limit + 1)
            )
            with session.begin():
                rows = session.connection().execute(query).all()
        items = [
            CaseSummary(
                id=r.id,
                tracking_number=r.tracking_number,
                region=r.region_id,
                sop=r.sop_id,
                step=r.step,
                status=r.status,
                unit=r.unit_key,
                created_at=r.created_at,
                updated_at=r.updated_at,
            )
            for r in rows[:limit]
        ]
        more = len(rows) > limit
        return CasePage(items=items, next=items[-1].id if more and items else None)

    return await blocking(run)


# --- actions ---------------------------------------------------------------------------------


@get(
    "/cases/{case_id:int}/actions",
    summary="The actions the caller may take now",
    responses=responses(400, 401, 404),
    **CASES_ROUTE,
)
async def offers(
    state: State,
    caller: NamedDependency[Caller],
    case_id: CaseId,
) -> list[OfferOut]:
    web = web_of(state)

    def run() -> list[OfferOut]:
        view, sop = _visible(web, case_id, caller.actor)
        step = sop.steps.get(view.step)
        out = []
        for offer in web.cases.available_actions(case_id, caller.actor):
            declared = step.actions.get(offer.action) if step else None
            accepts = [e for e in (declared.accepts if declared else []) if e not in offer.requires]
            out.append(
                OfferOut(
                    action=offer.action,
                    label=offer.label,
                    requires=list(offer.requires),
                    accepts=accepts,
                    reroute=offer.reroute,
                    moves=offer.moves,
                )
            )
        return out

    return await blocking(run)


@post(
    "/cases/{case_id:int}/actions",
    summary="Take an action on a case",
    responses=responses(400, 401, 403, 404, 409, 413, 422),
    **CASES_ROUTE,
    status_code=200,
)
async def act(
    state: State,
    caller: NamedDependency[Caller],
    case_id: CaseId,
    data: JSONBody[ActionIn],
) -> CaseOut:
    web = web_of(state)

    def run() -> CaseOut:
        _visible(web, case_id, caller.actor)
        web.cases.act(
            case_id, caller.actor, data.action, dict(data.entries), expected_revision=data.revision
        )
        fresh = web.cases.get(case_id)
        return case_out(web, fresh, web.registry.by_hash(fresh.content_hash).sop, caller.actor)

    return await blocking(run)


# --- submitting ------------------------------------------------------------------------------


def _check_fields(sop: Sop, data: SubmissionIn) -> list[ErrorDetail]:
    problems = []
    allowed = set(submission_fields(sop))
    for name in data.fields:
        if name not in sop.fields:
            problems.append(
                ErrorDetail(
                    field=f"fields.{name}", message=f"SOP '{sop.sop}' has no field '{name}'"
                )
            )
        elif name not in allowed:
            problems.append(
                ErrorDetail(
                    field=f"fields.{name}",
                    message=f"'{name}' is filled by staff, not at submission",
                )
            )
    if data.reporter is not None:
        for name in data.reporter.extra:
            if name not in sop.submission.identity_any_of:
                problems.append(
                    ErrorDetail(
                        field=f"reporter.extra.{name}",
                        message=f"SOP '{sop.sop}' takes no identity '{name}'",
                    )
                )
    return problems


def submit_case(
    web: Web,
    caller: Caller | None,
    data: SubmissionIn,
    idempotency_key: str | None,
) -> ReceiptOut:
    try:
        sop = web.registry.latest(data.sop).sop
    except KeyError:
        raise ApiProblem(
            404, "unknown_sop", f"SOP '{data.sop}' tidak dikenal.", f"Unknown SOP '{data.sop}'."
        ) from None
    if caller is not None and caller.key is not None and caller.key.region != sop.region:
        # A key works in its own region only; another region's SOP is as good as unknown.
        raise ApiProblem(
            404, "unknown_sop", f"SOP '{data.sop}' tidak dikenal.", f"Unknown SOP '{data.sop}'."
        )
    problems = _check_fields(sop, data)
    if problems:
        raise ApiProblem(400, details=problems)
    r = data.reporter
    reporter = None
    if r is not None:
        reporter = ReporterInfo(
            name=r.name, nik=r.nik, email=r.email, phone=r.phone, extra=dict(r.extra)
        )
    who = caller.ident if caller is not None else "anon"
    new = NewCase(
        sop_id=sop.sop,
        channel=data.channel or web_channel(sop),
        text=data.text,
        fields=dict(data.fields),
        reporter=reporter,
        anonymous=data.anonymous,
        confidential=data.confidential,
        idempotency_key=f"api:{who}:{idempotency_key}" if idempotency_key else None,
        submitted_by=caller.actor if caller is not None else None,
    )
    view = web.cases.submit(new)
    loc = data.location
    if loc is not None or data.media_url is not None:
        service_requests.record(
            web.engine,
            view.id,
            Arrival(
                lat=loc.lat if loc else None,
                long=loc.long if loc else None,
                address=loc.address if loc else None,
                address_id=loc.address_id if loc else None,
                media_url=data.media_url,
                api_key_id=caller.key.id if caller and caller.key else None,
            ),
        )
    return ReceiptOut(
        id=view.id,
        tracking_number=view.tracking_number,
        status=view.status,
        step=view.step,
        created_at=view.created_at,
    )


@post(
    "/cases",
    summary="Submit a report",
    responses=responses(400, 401, 403, 404, 409, 413, 422, 429),
    tags=["cases"],
    security=ANYONE,
    status_code=201,
)
async def submit(
    request: Request[Any, Any, Any],
    state: State,
    optional_caller: NamedDependency[Caller | None],
    data: JSONBody[SubmissionIn],
    idempotency_key: Annotated[str | None, IDEMPOTENCY_KEY] = None,
) -> ReceiptOut:
    """Citizen SOPs take reports from anyone (rate limited per address without a key); an SOP
    whose reports come from staff or an outside system needs a key or session with that role."""
    if optional_caller is None:
        await limit(request, "submit")
    if data.location is not None:
        loc = data.location
        if (loc.lat is None) != (loc.long is None):
            raise bad_input("location", "give both lat and long, or neither")
    return await blocking(submit_case, web_of(state), optional_caller, data, idempotency_key)


# --- tracking --------------------------------------------------------------------------------


@get(
    "/track/{tracking_number:str}",
    summary="Public tracking by tracking number",
    responses=responses(400, 404, 429),
    tags=["tracking"],
    security=ANYONE,
)
async def track(
    request: Request[Any, Any, Any],
    state: State,
    tracking_number: Annotated[str, PathParameter(max_length=40)],
) -> TrackOut:
    """What the reporter sees on the tracking page: status, step and the public history."""
    await limit(request, "track")
    web = web_of(state)
    lang = lang_of(request)

    def run() -> TrackOut:
        number = tracking_number.strip().upper()
        view = None
        if TRACKING_RE.match(number):
            try:
                view = web.cases.find(number)
            except NotFound:
                view = None
        # A confidential report is not public: its number alone answers as an unknown one.
        if view is None or view.confidential:
            raise ApiProblem(
                404, "not_found", "Nomor pelacakan tidak ditemukan.", "Tracking number not found."
            )
        sop = web.registry.by_hash(view.content_hash).sop
        visit = view.open_visit
        events = [
            TrackEvent(
                when=e.at,
                title=e.title,
                by=e.by,
                step=e.step,
                details=[TrackDetail(label=k, value=v) for k, v in e.details],
            )
            for e in public_events(web, view, sop, lang)
        ]
        return TrackOut(
            tracking_number=view.tracking_number,
            sop=view.sop_id,
            sop_title=sop.title,
            region=view.region,
            status=view.status,
            step=view.step,
            step_title=step_title(sop, view.step),
            created_at=view.created_at,
            updated_at=view.updated_at,
            due_at=visit.due_at if visit else None,
            events=events,
        )

    return await blocking(run)


ROUTES: Sequence[Any] = [
    regions,
    units,
    sops,
    sop_detail,
    list_cases,
    read_case,
    case_history,
    offers,
    act,
    submit,
    track,
]

__all__ = ["ROUTES", "case_out", "open_visit", "scope_condition", "submit_case"]
