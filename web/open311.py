"""Open311 GeoReport v2 under ``/open311/v2``, so that existing civic apps can submit and track.

Follows the public specification (GeoReport v2): ``discovery``, ``services``,
``services/{service_code}``, ``POST requests``, ``tokens/{token}``, ``requests`` and
``requests/{service_request_id}``, each as ``.json`` or ``.xml``; errors are the specification's
list of ``{code, description}``. How the platform maps onto it:

* **jurisdiction_id** is a region id (``yogyakarta``); it may be left out, since service codes
  are unique across regions.
* **A service** is one citizen-facing SOP (``service_code`` = the SOP id); its attributes are the
  SOP's submission fields (a choice is a ``singlevaluelist``, a yes/no field too).
* **service_request_id** is the case's tracking number (what the reporter is told anyway);
  ``token`` finds it through ``tokens/{token}``.
* **status** is ``open`` while the case is open or waiting, ``closed`` once done, rejected or
  cancelled; **status_notes** is the current step's title; **agency_responsible** the assigned
  unit (the region when none); **expected_datetime** the current step's deadline.
* Reading is public, as the tracking page is: never the report's text or the reporter's data;
  a confidential report is not there at all. Submitting needs an ``api_key`` of the region
  (``sop apikey create``); reading is rate limited per address.
"""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, Router, get, post
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.params import FromPath
from sqlalchemy import ColumnElement, and_, select
from sqlmodel import Session

from rules.model import TERMINAL_STATUSES, FieldType, Sop
from sop_platform import apikeys, service_requests
from sop_platform.cases import EngineError, NewCase, NotFound, ReporterInfo
from sop_platform.models import CaseRow, ServiceRequestRow, StepVisit
from sop_platform.service_requests import Arrival
from web.api.access import api_of, client_address
from web.citizen import TRACKING_RE, citizen_sops, submission_fields, web_channel
from web.context import Web, blocking, web_of
from web.staff import step_title, unit_name

log = logging.getLogger("web.open311")

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-01T00:00:00Z"
MAX_REQUESTS = 1000  # the specification's upper bound for GET requests
DEFAULT_SPAN = timedelta(days=90)  # the specification's default window for GET requests
MAX_BODY = 64 * 1024
MAX_DESCRIPTION = 20_000
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
_CASES = CaseRow.__table__  # type: ignore[attr-defined]
_VISITS = StepVisit.__table__  # type: ignore[attr-defined]
_REQUESTS = ServiceRequestRow.__table__  # type: ignore[attr-defined]
# Element names of list items in XML, by the name of the list.
_ITEM = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}


class Open311Error(HTTPException):
    """An error as the specification lists them: ``[{code, description}]``."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(status_code=status, detail=description)
        self.description = description


# --- formats -----------------------------------------------------------------------------------


def _split(name: str) -> tuple[str, str]:
    """``requests.json`` → (``requests``, ``json``); an unknown format is a 404."""
    stem, dot, fmt = name.rpartition(".")
    if not dot or fmt not in FORMATS:
        raise Open311Error(404, "unknown format: add .json or .xml to the resource")
    return stem, fmt


def _fmt_of_path(path: str) -> str:
    return "json" if path.endswith(".json") else "xml"


def _xml_value(parent: ET.Element, name: str, value: Any) -> None:
    node = ET.SubElement(parent, name)
    if isinstance(value, Mapping):
        for key, item in value.items():
            _xml_value(node, key, item)
    elif isinstance(value, list):
        for item in value:
            _xml_value(node, _ITEM.get(name, "item"), item)
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    elif value is not None:
        node.text = str(value)


def render(fmt: str, root: str, body: Any, status: int = 200) -> Response[bytes]:
    """The body as JSON, or as XML under ``root`` (a list becomes one element per item)."""
    if fmt == "json":
        content = json.dumps(body, ensure_ascii=False).encode()
    else:
        top = ET.Element(root)
        items = body if isinstance(body, list) else None
        if items is not None:
            for item in items:
                _xml_value(top, _ITEM.get(root, "item"), item)
        else:
            for key, value in body.items():
                _xml_value(top, key, value)
        content = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8")
    return Response(content, status_code=status, media_type=FORMATS[fmt])


def error_response(
    fmt: str, status: int, description: str, headers: Mapping[str, str] | None = None
) -> Response[bytes]:
    response = render(fmt, "errors", [{"code": status, "description": description}], status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    fmt = _fmt_of_path(request.url.path)
    if isinstance(exc, Open311Error):
        return error_response(fmt, exc.status_code, exc.description, exc.headers)
    if isinstance(exc, HTTPException):
        status = exc.status_code
        description = {
            400: "malformed request",
            404: "not found",
            405: "method not allowed",
            413: f"request body larger than {MAX_BODY} bytes",
        }.get(status, exc.detail or "error")
        if status >= 500:
            log.error("HTTP %s on %s", status, request.url.path, exc_info=exc)
        return error_response(fmt, status, description, exc.headers)
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(fmt, 500, "server error")


# --- services ----------------------------------------------------------------------------------


def _services(web: Web, jurisdiction: str | None) -> list[Sop]:
    sops = citizen_sops(web)
    if jurisdiction is not None:
        if jurisdiction not in {s.region for s in sops}:
            raise Open311Error(404, f"jurisdiction_id '{jurisdiction}' not found")
        sops = [s for s in sops if s.region == jurisdiction]
    return sops


def _service(web: Web, code: str, jurisdiction: str | None) -> Sop:
    for sop in _services(web, jurisdiction):
        if sop.sop == code:
            return sop
    raise Open311Error(404, f"service_code '{code}' not found")


def _service_row(web: Web, sop: Sop) -> dict[str, Any]:
    return {
        "service_code": sop.sop,
        "service_name": sop.title,
        "description": sop.summary or sop.title,
        "metadata": bool(submission_fields(sop)),
        "type": "realtime",
        "keywords": "",
        "group": web.registry.region(sop.region).name,
    }


def _attributes(web: Web, sop: Sop) -> list[dict[str, Any]]:
    region = web.registry.region(sop.region)
    out = []
    for order, name in enumerate(submission_fields(sop), start=1):
        spec = sop.fields[name]
        values: list[dict[str, Any]] = []
        if spec.type is FieldType.choice:
            datatype = "singlevaluelist"
            values = [{"key": str(o), "name": str(o)} for o in spec.options]
        elif spec.type is FieldType.boolean:
            datatype = "singlevaluelist"
            values = [{"key": "ya", "name": "Ya"}, {"key": "tidak", "name": "Tidak"}]
        elif spec.type is FieldType.unit:
            datatype = "singlevaluelist"
            values = [{"key": k, "name": u.name} for k, u in region.units.items()]
        elif spec.type is FieldType.number:
            datatype = "number"
        elif spec.type is FieldType.date:
            datatype = "datetime"
        else:
            short = spec.max_length is not None and spec.max_length <= 200
            datatype = "string" if short else "text"
        out.append(
            {
                "variable": True,
                "code": name,
                "datatype": datatype,
                "required": spec.required,
                "datatype_description": "",
                "order": order,
                "description": spec.label or name,
                "values": values,
            }
        )
    return out


def _discovery(request: Request[Any, Any, Any]) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/") + PREFIX + "/"
    body = {
        "changeset": CHANGESET,
        "contact": "Diskominfo daerah (lihat situs pemerintah daerah)",
        "key_service": "Kunci API dari administrator daerah (sop apikey create)",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return body


@get("/{resource:str}", include_in_schema=False)
async def listing(
    request: Request[Any, Any, Any], state: State, resource: FromPath[str]
) -> Response[bytes]:
    """``services.{fmt}`` and ``requests.{fmt}`` (the format is part of the resource name)."""
    stem, fmt = _split(resource)
    web = web_of(state)
    query = request.query_params
    jurisdiction = _one(query, "jurisdiction_id")
    if stem == "discovery":
        return render(fmt, "discovery", _discovery(request))
    if stem == "services":
        found = await blocking(_services, web, jurisdiction)
        return render(fmt, "services", [_service_row(web, s) for s in found])
    if stem == "requests":
        await _limit(request)
        rows = await blocking(_find_requests, web, query, jurisdiction)
        return render(fmt, "service_requests", rows)
    raise Open311Error(404, f"unknown resource '{stem}'")


@get("/services/{name:str}", include_in_schema=False)
async def service_definition(
    request: Request[Any, Any, Any], state: State, name: FromPath[str]
) -> Response[bytes]:
    code, fmt = _split(name)
    web = web_of(state)
    sop = await blocking(_service, web, code, _one(request.query_params, "jurisdiction_id"))
    return render(
        fmt, "service_definition", {"service_code": sop.sop, "attributes": _attributes(web, sop)}
    )


def _one(query: Any, name: str, limit: int = 200) -> str | None:
    values = query.getall(name, []) if hasattr(query, "getall") else []
    if len(values) > 1:
        raise Open311Error(400, f"{name} given more than once")
    value = values[0].strip() if values else ""
    if len(value) > limit:
        raise Open311Error(400, f"{name} is longer than {limit} characters")
    return value or None


async def _limit(request: Request[Any, Any, Any]) -> None:
    wait = await api_of(request.app.state).limiter.hit("track", client_address(request))
    if wait is not None:
        exc = Open311Error(429, f"too many requests; retry after {wait} seconds")
        exc.headers = {"Retry-After": str(wait)}
        raise exc


# --- reading requests --------------------------------------------------------------------------


def _iso(moment: datetime | None, tz: ZoneInfo) -> str | None:
    return moment.astimezone(tz).isoformat(timespec="seconds") if moment else None


def request_row(web: Web, row: Any) -> dict[str, Any]:
    """One case as an Open311 service request (the public part only), from a row of
    :func:`_rows`' query."""
    sop = web.registry.by_hash(row.content_hash).sop
    region = web.registry.region(row.region_id)
    tz = web.registry.calendar(row.region_id).tz
    closed = row.status in {s.value for s in TERMINAL_STATUSES}
    return {
        "service_request_id": row.tracking_number,
        "status": "closed" if closed else "open",
        "status_notes": step_title(sop, row.step),
        "service_name": sop.title,
        "service_code": row.sop_id,
        "description": None,  # the report's text is not public (as on the tracking page)
        "agency_responsible": unit_name(region, row.unit_key) if row.unit_key else region.name,
        "service_notice": None,
        "requested_datetime": _iso(row.created_at, tz),
        "updated_datetime": _iso(row.updated_at, tz),
        "expected_datetime": None if closed else _iso(row.due_at, tz),
        "address": row.address,
        "address_id": row.address_id,
        "zipcode": None,
        "lat": row.lat,
        "long": row.long,
        "media_url": row.media_url,
    }


def _parse_date(name: str, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(
            400, f"{name} is not a date-time (e.g. 2025-11-24T09:00:00+07:00)"
        ) from None
    if moment.tzinfo is None:
        raise Open311Error(400, f"{name} needs a time zone (Z or +07:00)")
    return moment


def _find_requests(web: Web, query: Any, jurisdiction: str | None) -> list[dict[str, Any]]:
    services = {s.sop: s for s in _services(web, jurisdiction)}
    c = _CASES.c
    # Confidential reports are not public (as on the tracking page): never listed.
    conditions: list[ColumnElement[bool]] = [
        c.sop_id.in_(sorted(services)),
        c.confidential.is_(False),
    ]
    ids_text = _one(query, "service_request_id", 2000)
    if ids_text:
        ids = [i.strip().upper() for i in ids_text.split(",") if i.strip()]
        if len(ids) > 100 or not all(TRACKING_RE.match(i) for i in ids):
            raise Open311Error(400, "service_request_id: up to 100 ids separated by commas")
        conditions.append(c.tracking_number.in_(ids))
    code = _one(query, "service_code")
    if code:
        codes = [x.strip() for x in code.split(",") if x.strip()]
        unknown = [x for x in codes if x not in services]
        if unknown:
            raise Open311Error(404, f"service_code '{unknown[0]}' not found")
        conditions.append(c.sop_id.in_(codes))
    status = _one(query, "status")
    if status:
        wanted = {x.strip() for x in status.split(",") if x.strip()}
        if not wanted <= {"open", "closed"}:
            raise Open311Error(400, "status: open, closed, or both separated by a comma")
        if wanted == {"open"}:
            conditions.append(c.status.in_(["open", "waiting"]))
        elif wanted == {"closed"}:
            conditions.append(c.status.in_([s.value for s in TERMINAL_STATUSES]))
    start_text, end_text = _one(query, "start_date"), _one(query, "end_date")
    start = _parse_date("start_date", start_text) if start_text else None
    end = _parse_date("end_date", end_text) if end_text else None
    if start is not None and end is not None and end < start:
        raise Open311Error(400, "end_date is before start_date")
    if not ids_text and start is None:  # the specification's default: the last 90 days
        start = (end or web.clock.now()) - DEFAULT_SPAN
    if start is not None:
        conditions.append(c.created_at >= start)
    if end is not None:
        conditions.append(c.created_at <= end)
    with Session(web.engine) as session, session.begin():
        ids_found = (
            session.connection()
            .execute(select(c.id).where(*conditions).order_by(c.id.desc()).limit(MAX_REQUESTS))
            .scalars()
            .all()
        )
    return _rows(web, list(ids_found))


def _rows(web: Web, case_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The requests of these (non-confidential) cases, in this order, from one query: the case,
    its open visit's deadline and what came with it (up to 1000 rows, so never a query each)."""
    if not case_ids:
        return []
    c, v, r = _CASES.c, _VISITS.c, _REQUESTS.c
    query = (
        select(
            c.id,
            c.tracking_number,
            c.region_id,
            c.sop_id,
            c.content_hash,
            c.step,
            c.status,
            c.unit_key,
            c.created_at,
            c.updated_at,
            v.due_at,
            r.lat,
            r.long,
            r.address,
            r.address_id,
            r.media_url,
        )
        .select_from(
            _CASES.outerjoin(_VISITS, and_(v.case_id == c.id, v.left_at.is_(None))).outerjoin(
                _REQUESTS, r.case_id == c.id
            )
        )
        .where(c.id.in_(list(case_ids)), c.confidential.is_(False))
    )
    with Session(web.engine) as session, session.begin():
        found = {row.id: row for row in session.connection().execute(query).all()}
    return [request_row(web, found[i]) for i in case_ids if i in found]


@get("/requests/{name:str}", include_in_schema=False)
async def one_request(
    request: Request[Any, Any, Any], state: State, name: FromPath[str]
) -> Response[bytes]:
    number, fmt = _split(name)
    await _limit(request)
    web = web_of(state)

    def run() -> list[dict[str, Any]]:
        wanted = number.strip().upper()
        services = {s.sop for s in _services(web, _one(request.query_params, "jurisdiction_id"))}
        try:
            view = web.cases.find(wanted) if TRACKING_RE.match(wanted) else None
        except NotFound:
            view = None
        if view is None or view.sop_id not in services or view.confidential:
            raise Open311Error(404, f"service_request_id '{number[:40]}' not found")
        return _rows(web, [view.id])

    return render(fmt, "service_requests", await blocking(run))


@get("/tokens/{name:str}", include_in_schema=False)
async def token(
    request: Request[Any, Any, Any], state: State, name: FromPath[str]
) -> Response[bytes]:
    value, fmt = _split(name)
    await _limit(request)
    web = web_of(state)

    def run() -> list[dict[str, Any]]:
        found = service_requests.by_token(web.engine, value) if len(value) <= 64 else None
        if found is None:
            raise Open311Error(404, f"token '{value[:64]}' not found")
        view = web.cases.get(found.case_id)
        if view.confidential:
            raise Open311Error(404, f"token '{value[:64]}' not found")
        return [{"service_request_id": view.tracking_number, "token": found.token}]

    return render(fmt, "service_requests", await blocking(run))


# --- submitting --------------------------------------------------------------------------------

KNOWN_FIELDS = {
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
}
LIMITS = {
    "api_key": 100,
    "jurisdiction_id": 64,
    "service_code": 100,
    "lat": 40,
    "long": 40,
    "address_string": 500,
    "address_id": 100,
    "email": 200,
    "device_id": 100,
    "account_id": 100,
    "first_name": 100,
    "last_name": 100,
    "phone": 50,
    "description": MAX_DESCRIPTION,
    "media_url": 2000,
}


@dataclass(frozen=True)
class Submission:
    """A POST requests body, checked: everything the case and its arrival record need."""

    values: dict[str, str]
    attributes: dict[str, str]


def _form(data: Any) -> Submission:
    """Every field once, known, short enough; ``attribute[code]`` for the service's attributes."""
    values: dict[str, str] = {}
    attributes: dict[str, str] = {}
    for key in dict.fromkeys(data.keys()):
        items = data.getall(key)
        if not all(isinstance(i, str) for i in items):
            raise Open311Error(400, f"{key}: uploads are not taken; send media_url")
        if key.startswith("attribute[") and key.endswith("]"):
            code = key[len("attribute[") : -1]
            code = code.removesuffix("][")  # attribute[code][] (a multivaluelist)
            if len(items) != 1:
                raise Open311Error(400, f"attribute[{code}] takes one value")
            if len(items[0]) > 10_000:
                raise Open311Error(400, f"attribute[{code}] is too long")
            attributes[code] = items[0]
            continue
        if key not in KNOWN_FIELDS:
            raise Open311Error(400, f"unknown field '{key[:60]}'")
        if len(items) != 1:
            raise Open311Error(400, f"{key} given more than once")
        value = items[0].strip()
        if len(value) > LIMITS[key]:
            raise Open311Error(400, f"{key} is longer than {LIMITS[key]} characters")
        if value:
            values[key] = value
    return Submission(values, attributes)


def _coordinate(values: Mapping[str, str], name: str, bound: float) -> float | None:
    text = values.get(name)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        raise Open311Error(400, f"{name} is not a number") from None
    if not -bound <= number <= bound or number != number:
        raise Open311Error(400, f"{name} is outside -{bound:g}..{bound:g}")
    return number


def _submit(web: Web, form: Submission, now: datetime) -> list[dict[str, Any]]:
    v = form.values
    if "api_key" not in v:
        raise Open311Error(403, "api_key is required")
    found = apikeys.authenticate(web.engine, v["api_key"], now)
    if found is None:
        raise Open311Error(403, "api_key is not valid")
    if "service_code" not in v:
        raise Open311Error(400, "service_code is required")
    sop = _service(web, v["service_code"], v.get("jurisdiction_id"))
    if found.key.region != sop.region:
        raise Open311Error(403, f"this api_key is not for jurisdiction '{sop.region}'")
    lat, long = _coordinate(v, "lat", 90), _coordinate(v, "long", 180)
    if (lat is None) != (long is None):
        raise Open311Error(400, "give both lat and long")
    if lat is None and "address_string" not in v and "address_id" not in v:
        raise Open311Error(
            400, "a location is required: lat and long, address_string or address_id"
        )
    media = v.get("media_url")
    if media is not None and not media.startswith(("http://", "https://")):
        raise Open311Error(400, "media_url must be an http or https URL")
    if not v.get("description"):
        raise Open311Error(400, "description is required")
    allowed = submission_fields(sop)
    unknown = [code for code in form.attributes if code not in allowed]
    if unknown:
        raise Open311Error(400, f"attribute '{unknown[0][:60]}' is not part of this service")
    name = " ".join(x for x in (v.get("first_name"), v.get("last_name")) if x) or None
    reporter = ReporterInfo(name=name, email=v.get("email"), phone=v.get("phone"))
    anonymous = not reporter.given() and sop.submission.anonymous_allowed
    new = NewCase(
        sop_id=sop.sop,
        channel=web_channel(sop),
        text=v["description"],
        fields=dict(form.attributes),
        reporter=None if anonymous else reporter,
        anonymous=anonymous,
        submitted_by=found.actor,
    )
    try:
        view = web.cases.submit(new)
    except EngineError as err:
        raise Open311Error(400, err.message_en) from None
    recorded = service_requests.record(
        web.engine,
        view.id,
        Arrival(
            lat=lat,
            long=long,
            address=v.get("address_string"),
            address_id=v.get("address_id"),
            media_url=media,
            device_id=v.get("device_id"),
            account_id=v.get("account_id"),
            api_key_id=found.key.id,
        ),
    )
    return [
        {
            "service_request_id": view.tracking_number,
            "token": recorded.token,
            "service_notice": f"Nomor pelacakan {view.tracking_number}",
            "account_id": v.get("account_id"),
        }
    ]


@post("/{resource:str}", include_in_schema=False, status_code=200)
async def create_request(
    request: Request[Any, Any, Any], state: State, resource: FromPath[str]
) -> Response[bytes]:
    stem, fmt = _split(resource)
    if stem != "requests":
        raise Open311Error(404, f"unknown resource '{stem}'")
    content_type, _ = request.content_type
    if content_type != RequestEncodingType.URL_ENCODED:
        raise Open311Error(
            400,
            "send the request as application/x-www-form-urlencoded "
            "(no uploads: give a photo as media_url)",
        )
    web = web_of(state)
    form = _form(await request.form())
    rows = await blocking(_submit, web, form, web.clock.now())
    return render(fmt, "service_requests", rows)


def router() -> Router:
    return Router(
        path=PREFIX,
        route_handlers=[listing, service_definition, one_request, token, create_request],
        # Every class the app registers a handler for, too: the most specific class wins across
        # layers, and the app's would answer in HTML.
        exception_handlers={
            Open311Error: handle_error,
            NotAuthorizedException: handle_error,
            HTTPException: handle_error,
            Exception: handle_error,
        },
        include_in_schema=False,
        request_max_body_size=MAX_BODY,
    )


def fallback(request: Request[Any, Any, Any], status: int) -> Response[bytes]:
    """For errors raised before a route is found (unknown path, wrong method)."""
    return error_response(
        _fmt_of_path(request.url.path), status, "not found" if status == 404 else "error"
    )


__all__ = ["PREFIX", "fallback", "render", "request_row", "router"]
