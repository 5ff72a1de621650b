"""Administration pages for a region's administrator (platform role ``admin_daerah``): users,
units, SOP versions, the audit log and its CSV export.

Every page is under ``/admin/{region}``; a region in which the signed-in user is not the
administrator gets the same 404 as a region that does not exist. The pages are thin: every
change goes through :mod:`sop_platform.administration`, which checks it, makes it and writes
its audit entry in one transaction. A refused change is shown on the page in the service's own
words (422) and changes nothing. A generated password is shown once, on the page that answers
the change; it is never put in a URL or stored in clear.

Units are declared in the region file; here they are only activated, deactivated and given
their contact data (see the module documentation of :mod:`sop_platform.administration`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Stream

from sop_platform import administration as adm
from sop_platform.cases import Actor
from sop_platform.roles import ADMIN_DAERAH, regions_with
from sop_platform.telemetry import REQUEST_ID
from web import i18n
from web.context import FORM, Web, blocking, form_text, lang_of, page, web_of

AUDIT_PAGE = 50


def admin_regions(actor: Actor) -> list[str]:
    return regions_with(actor, ADMIN_DAERAH)


def _region(web: Web, actor: Actor, region: str) -> str:
    """The region, if the actor administers it; 404 otherwise (also for unknown regions)."""
    if region not in admin_regions(actor) or region not in web.registry.catalog.regions:
        raise NotFoundException()
    return region


def _change(actor: Actor, region: str, web: Web) -> adm.Change:
    return adm.Change(actor, region, web.clock.now(), REQUEST_ID.get())


def _base(web: Web, region: str, tab: str) -> dict[str, Any]:
    return {
        "region": region,
        "region_name": web.registry.region(region).name,
        "tab": tab,
        "error": None,
        "notice": None,
        "new_password": None,
        "new_key": None,
        "apikeys_available": True,
    }


def _active_units(web: Web, actor: Actor, region: str) -> list[Any]:
    return [u for u in adm.units(web.engine, actor, region) if u.active]


def _ok_notice(ok: str, lang: str) -> str | None:
    return i18n.translate("admin.saved", lang) if ok else None


def _guarded(
    request: Request[Any, Any, Any],
    render: Callable[..., Response[Any]],
    change: Callable[[], Any],
    done: Callable[[Any], Response[Any]],
) -> Response[Any]:
    """Make the change; on refusal render the page again with the reason (422)."""
    try:
        result = change()
    except adm.NotInRegion:
        raise NotFoundException() from None
    except adm.AdminError as err:
        return render(error=i18n.message_of(err, lang_of(request)), status_code=422)
    return done(result)


def _saved(url: str) -> Callable[[Any], Response[Any]]:
    """After a change that shows nothing new: back to the page, with the saved notice."""
    return lambda _result: Redirect(url + "?ok=1", status_code=303)


def _scope(state: State, actor: Actor, region: str) -> tuple[Web, str, adm.Change]:
    """The application, the region the actor administers (404 otherwise) and a change in it."""
    web = web_of(state)
    region = _region(web, actor, region)
    return web, region, _change(actor, region, web)


def _render(
    request: Request[Any, Any, Any],
    web: Web,
    region: str,
    tab: str,
    template: str,
    values: dict[str, Any],
    status_code: int = 200,
    block: str | None = None,
) -> Response[Any]:
    context = _base(web, region, tab)
    context.update(values)
    return page(request, template, context, block=block, status_code=status_code)


def _list_route(path: str, name: str, show: Callable[..., Response[Any]]) -> HTTPRouteHandler:
    """The GET of an administration page: the page, with the saved notice after ``?ok=1``."""

    async def handler(
        request: Request[Any, Any, Any],
        state: State,
        actor: NamedDependency[Actor],
        region: FromPath[str],
        ok: FromQuery[str] = "",
    ) -> Response[Any]:
        web = web_of(state)
        region = _region(web, actor, region)
        notice = _ok_notice(ok, lang_of(request))
        return await blocking(show, request, web, actor, region, notice=notice)

    handler.__name__ = handler.__qualname__ = name
    return get(path, name=name)(handler)


# --- entry -----------------------------------------------------------------------------------


@get("/admin", name="admin_home")
async def admin_home(actor: NamedDependency[Actor]) -> Response[Any]:
    regions = admin_regions(actor)
    if not regions:
        raise NotFoundException()
    return Redirect(f"/admin/{regions[0]}/pengguna", status_code=303)


@get("/admin/{region:str}", name="admin_region")
async def admin_region(
    state: State, actor: NamedDependency[Actor], region: FromPath[str]
) -> Response[Any]:
    _region(web_of(state), actor, region)
    return Redirect(f"/admin/{region}/pengguna", status_code=303)


# --- users -----------------------------------------------------------------------------------


def _users_page(
    request: Request[Any, Any, Any],
    web: Web,
    actor: Actor,
    region: str,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    notice: str | None = None,
) -> Response[Any]:
    values_ = {
        "users": adm.users(web.engine, actor, region),
        "roles": list(adm.role_choices(web.registry, region).values()),
        "units": _active_units(web, actor, region),
        "values": values or {},
        "error": error,
        "notice": notice,
    }
    return _render(request, web, region, "users", "admin_pengguna.html", values_, status_code)


admin_users = _list_route("/admin/{region:str}/pengguna", "admin_users", _users_page)


@post("/admin/{region:str}/pengguna", name="admin_user_create")
async def admin_user_create(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    region: FromPath[str],
    data: Annotated[dict[str, Any], FORM],
) -> Response[Any]:
    web, region, change = _scope(state, actor, region)
    return await blocking(_user_create, request, web, actor, change, data)


def _user_create(
    request: Request[Any, Any, Any],
    web: Web,
    actor: Actor,
    change: adm.Change,
    data: dict[str, Any],
) -> Response[Any]:
    values = {
        k: form_text(data, k) for k in ("username", "full_name", "email", "phone", "role", "unit")
    }
    grants = [(values["role"], values["unit"] or None)] if values["role"] else []

    def render(**kw: Any) -> Response[Any]:
        return _users_page(request, web, actor, change.region, values=values, **kw)

    def done(result: tuple[int, str]) -> Response[Any]:
        user_id, password = result
        return _user_page(
            request,
            web,
            actor,
            change.region,
            user_id,
            new_password=password,
            notice=i18n.translate("admin.user.created", lang_of(request)),
        )

    return _guarded(
        request,
        render,
        lambda: adm.create_user(
            web.engine,
            web.registry,
            change,
            values["username"],
            values["full_name"],
            grants,
            email=values["email"],
            phone=values["phone"],
        ),
        done,
    )


def _user_page(
    request: Request[Any, Any, Any],
    web: Web,
    actor: Actor,
    region: str,
    user_id: int,
    *,
    error: str | None = None,
    notice: str | None = None,
    new_password: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    try:
        found = adm.user(web.engine, actor, region, user_id)
    except adm.NotInRegion:
        raise NotFoundException() from None
    values = {
        "user": found,
        "roles": list(adm.role_choices(web.registry, region).values()),
        "role_titles": {r.role: r.title for r in adm.role_choices(web.registry, region).values()},
        "units": _active_units(web, actor, region),
        "unit_names": {u.key: u.name for u in adm.units(web.engine, actor, region)},
        "error": error,
        "notice": notice,
        "new_password": new_password,
        "is_self": user_id == actor.user_id,
    }
    return _render(request, web, region, "users", "admin_pengguna_detail.html", values, status_code)


@get("/admin/{region:str}/pengguna/{user_id:int}", name="admin_user")
async def admin_user(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    region: FromPath[str],
    user_id: FromPath[int],
    ok: FromQuery[str] = "",
) -> Response[Any]:
    web = web_of(state)
    region = _region(web, actor, region)
    notice = _ok_notice(ok, lang_of(request))
    return await blocking(_user_page, request, web, actor, region, user_id, notice=notice)


@post("/admin/{region:str}/pengguna/{user_id:int}/{what:str}", name="admin_user_change")
async def admin_user_change(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    region: FromPath[str],
    user_id: FromPath[int],
    what: FromPath[str],
    data: Annotated[dict[str, Any], FORM],
) -> Response[Any]:
    """``status`` (aktif=1/0), ``sandi`` (reset), ``peran`` (grant), ``cabut`` (revoke)."""
    web, region, change = _scope(state, actor, region)
    if what not in ("status", "sandi", "peran", "cabut"):
        raise NotFoundException()
    return await blocking(_user_change, request, web, actor, change, user_id, what, data)


def _user_change(
    request: Request[Any, Any, Any],
    web: Web,
    actor: Actor,
    change: adm.Change,
    user_id: int,
    what: str,
    data: dict[str, Any],
) -> Response[Any]:
    lang = lang_of(request)
    saved = _saved(f"/admin/{change.region}/pengguna/{user_id}")

    def render(**kw: Any) -> Response[Any]:
        return _user_page(request, web, actor, change.region, user_id, **kw)

    role, unit = form_text(data, "role"), form_text(data, "unit") or None
    if what == "status":
        active = form_text(data, "aktif") == "1"
        return _guarded(
            request, render, lambda: adm.set_active(web.engine, change, user_id, active), saved
        )
    if what == "sandi":
        return _guarded(
            request,
            render,
            lambda: adm.reset_password(web.engine, change, user_id),
            lambda password: render(
                new_password=password, notice=i18n.translate("admin.user.reset", lang)
            ),
        )
    if what == "peran":
        return _guarded(
            request,
            render,
            lambda: adm.grant_role(web.engine, web.registry, change, user_id, role, unit),
            saved,
        )
    return _guarded(
        request,
        render,
        lambda: adm.revoke_role(web.engine, change, user_id, role, unit),
        saved,
    )


# --- units -----------------------------------------------------------------------------------


def _units_page(
    request: Request[Any, Any, Any],
    web: Web,
    actor: Actor,
    region: str,
    *,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    values = {"units": adm.units(web.engine, actor, region), "error": error, "notice": notice}
    return _render(request, web, region, "units", "admin_unit.html", values, status_code)


admin_units = _list_route("/admin/{region:str}/unit", "admin_units", _units_page)


@post("/admin/{region:str}/unit/{key:str}/{what:str}", name="admin_unit_change")
async def admin_unit_change(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    region: FromPath[str],
    key: FromPath[str],
    what: FromPath[str],
    data: Annotated[dict[str, Any], FORM],
) -> Response[Any]:
    """``status`` (aktif=1/0) or ``kontak`` (email, phone)."""
    web, region, change = _scope(state, actor, region)
    if what not in ("status", "kontak"):
        raise NotFoundException()
    saved = _saved(f"/admin/{region}/unit")

    def run() -> Response[Any]:
        def render(**kw: Any) -> Response[Any]:
            return _units_page(request, web, actor, region, **kw)

        if what == "status":
            active = form_text(data, "aktif") == "1"
            return _guarded(
                request, render, lambda: adm.set_unit_active(web.engine, change, key, active), saved
            )
        return _guarded(
            request,
            render,
            lambda: adm.set_unit_contact(
                web.engine, change, key, form_text(data, "email"), form_text(data, "phone")
            ),
            saved,
        )

    return await blocking(run)


# --- SOP versions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionItem:
    sop_id: str
    version: str
    title: str
    published_at: str
    withdrawn_at: str | None
    for_new_cases: bool


def _sops_page(
    request: Request[Any, Any, Any],
    web: Web,
    actor: Actor,
    region: str,
    *,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    rows = adm.sop_versions(web.engine, actor, region)
    newest: dict[str, str] = {}
    for row in rows:
        if row.withdrawn_at is None and row.version > newest.get(row.sop_id, ""):
            newest[row.sop_id] = row.version
    local = web.registry.local_text
    items = [
        VersionItem(
            sop_id=row.sop_id,
            version=row.version,
            title=row.title,
            published_at=local(row.published_at, region),
            withdrawn_at=local(row.withdrawn_at, region) if row.withdrawn_at else None,
            for_new_cases=newest.get(row.sop_id) == row.version,
        )
        for row in rows
    ]
    values = {"versions": items, "error": error, "notice": notice}
    return _render(request, web, region, "sops", "admin_sop.html", values, status_code)


admin_sops = _list_route("/admin/{region:str}/sop", "admin_sops", _sops_page)


@post("/admin/{region:str}/sop/{sop_id:str}/{version:str}", name="admin_sop_change")
async def admin_sop_change(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    region: FromPath[str],
    sop_id: FromPath[str],
    version: FromPath[str],
    data: Annotated[dict[str, Any], FORM],
) -> Response[Any]:
    """``terbit=1`` publishes the version again, ``terbit=0`` withdraws it from new cases."""
    web, region, change = _scope(state, actor, region)
    published = form_text(data, "terbit") == "1"

    def run() -> Response[Any]:
        return _guarded(
            request,
            lambda **kw: _sops_page(request, web, actor, region, **kw),
            lambda: adm.set_published(web.engine, web.registry, change, sop_id, version, published),
            _saved(f"/admin/{region}/sop"),
        )

    return await blocking(run)


# --- API keys --------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyItem:
    prefix: str
    name: str
    roles: str
    unit: str
    created_at: str
    created_by: str
    last_used_at: str
    revoked_at: str | None


def _keys_page(
    request: Request[Any, Any, Any],
    web: Web,
    actor: Actor,
    region: str,
    *,
    error: str | None = None,
    notice: str | None = None,
    new_key: str | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response[Any]:
    local = web.registry.local_text
    units = {u.key: u.name for u in adm.units(web.engine, actor, region)}
    items = [
        KeyItem(
            prefix=k.prefix,
            name=k.name,
            roles=", ".join(k.roles) or "-",
            unit=units.get(k.unit, k.unit) if k.unit else "-",
            created_at=local(k.created_at, region),
            created_by=k.created_by or "-",
            last_used_at=local(k.last_used_at, region) if k.last_used_at else "-",
            revoked_at=local(k.revoked_at, region) if k.revoked_at else None,
        )
        for k in adm.api_keys(web.engine, actor, region)
    ]
    roles = [r for r in adm.role_choices(web.registry, region).values() if r.kind is not None]
    values_ = {
        "keys": items,
        "roles": roles,
        "units": _active_units(web, actor, region),
        "values": values or {},
        "error": error,
        "notice": notice,
        "new_key": new_key,
    }
    return _render(request, web, region, "apikeys", "admin_kunci.html", values_, status_code)


admin_keys = _list_route("/admin/{region:str}/kunci-api", "admin_keys", _keys_page)


@post("/admin/{region:str}/kunci-api", name="admin_key_create")
async def admin_key_create(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    region: FromPath[str],
) -> Response[Any]:
    web, region, change = _scope(state, actor, region)
    form = await request.form()
    name = str(form.get("name") or "").strip()
    roles = [str(r) for r in form.getall("roles")] if "roles" in form else []
    unit = str(form.get("unit") or "").strip() or None
    values = {"name": name, "roles": roles, "unit": unit or ""}

    def run() -> Response[Any]:
        return _guarded(
            request,
            lambda **kw: _keys_page(request, web, actor, region, values=values, **kw),
            lambda: adm.create_api_key(web.engine, web.registry, change, name, roles, unit),
            lambda made: _keys_page(
                request,
                web,
                actor,
                region,
                new_key=made.key,
                notice=i18n.translate("admin.key.created", lang_of(request)),
            ),
        )

    return await blocking(run)


@post("/admin/{region:str}/kunci-api/{prefix:str}/cabut", name="admin_key_revoke")
async def admin_key_revoke(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    region: FromPath[str],
    prefix: FromPath[str],
) -> Response[Any]:
    web, region, change = _scope(state, actor, region)

    def run() -> Response[Any]:
        return _guarded(
            request,
            lambda **kw: _keys_page(request, web, actor, region, **kw),
            lambda: adm.revoke_api_key(web.engine, change, prefix),
            _saved(f"/admin/{region}/kunci-api"),
        )

    return await blocking(run)


# --- the audit log ---------------------------------------------------------------------------


def _day(text: str, web: Web, region: str) -> datetime | None:
    """A date typed as YYYY-MM-DD, read as the region's local midnight."""
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return None
    return day.replace(tzinfo=web.registry.calendar(region).tz)


def _filters(web: Web, region: str, params: dict[str, str]) -> adm.AuditFilter:
    since = _day(params.get("dari", ""), web, region)
    until = _day(params.get("sampai", ""), web, region)
    return adm.AuditFilter(
        action=params.get("aksi") or None,
        actor=params.get("pelaku") or None,
        target=params.get("sasaran") or None,
        since=since,
        until=until + timedelta(days=1) if until else None,  # the whole last day
    )


@dataclass(frozen=True)
class AuditItem:
    id: int
    at: str
    actor: str
    action: str
    target: str
    before: str
    after: str
    request_id: str


def _compact(value: dict[str, Any] | None) -> str:
    if not value:
        return ""
    return "; ".join(f"{k}: {v}" for k, v in value.items())


ACTIONS = (
    "user.",
    "user.create",
    "user.disable",
    "user.enable",
    "user.reset_password",
    "role.",
    "unit.",
    "sop.",
    "apikey.",
    "retention.erase",
)


def _audit_page(
    request: Request[Any, Any, Any],
    web: Web,
    actor: Actor,
    region: str,
    params: dict[str, str],
    after: int | None,
) -> Response[Any]:
    filters = _filters(web, region, params)
    result = adm.audit_page(web.engine, actor, region, filters, after, AUDIT_PAGE)
    items = [
        AuditItem(
            id=e.id or 0,
            at=web.registry.local_text(e.at, region),
            actor=e.actor_name,
            action=e.action,
            target=e.target,
            before=_compact(e.before),
            after=_compact(e.after),
            request_id=e.request_id or "",
        )
        for e in result.rows
    ]
    query = {k: v for k, v in params.items() if v}
    values = {
        "items": items,
        "params": {k: params.get(k, "") for k in ("aksi", "pelaku", "sasaran", "dari", "sampai")},
        "actions": ACTIONS,
        "next_url": f"/admin/{region}/audit?" + urlencode({**query, "after": result.next_after})
        if result.next_after
        else None,
        "first_url": f"/admin/{region}/audit?" + urlencode(query) if after else None,
        "csv_url": f"/admin/{region}/audit.csv" + (f"?{urlencode(query)}" if query else ""),
    }
    return _render(request, web, region, "audit", "admin_audit.html", values, block="audit_list")


def _audit_params(
    aksi: FromQuery[str | None] = None,
    pelaku: FromQuery[str | None] = None,
    sasaran: FromQuery[str | None] = None,
    dari: FromQuery[str | None] = None,
    sampai: FromQuery[str | None] = None,
) -> dict[str, str]:
    """The audit log's filters from the query, shared by the page and its CSV export."""
    values = {"aksi": aksi, "pelaku": pelaku, "sasaran": sasaran, "dari": dari, "sampai": sampai}
    return {k: (v or "").strip()[:100] for k, v in values.items()}


AUDIT_PARAMS = {"params": Provide(_audit_params, sync_to_thread=False)}


@get("/admin/{region:str}/audit", name="admin_audit", dependencies=AUDIT_PARAMS)
async def admin_audit(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    region: FromPath[str],
    params: NamedDependency[dict[str, str]],
    after: FromQuery[str | None] = None,
) -> Response[Any]:
    web = web_of(state)
    region = _region(web, actor, region)
    cursor = int(after) if after and after.isdigit() else None
    return await blocking(_audit_page, request, web, actor, region, params, cursor)


@get("/admin/{region:str}/audit.csv", name="admin_audit_csv", dependencies=AUDIT_PARAMS)
async def admin_audit_csv(
    state: State,
    actor: NamedDependency[Actor],
    region: FromPath[str],
    params: NamedDependency[dict[str, str]],
) -> Stream:
    web = web_of(state)
    region = _region(web, actor, region)
    filters = _filters(web, region, params)
    chunks = iter(adm.audit_csv(web.engine, actor, region, filters))

    def next_chunk() -> str | None:
        return next(chunks, None)

    async def body() -> AsyncIterator[bytes]:
        while True:
            chunk = await blocking(next_chunk)
            if chunk is None:
                return
            yield chunk.encode("utf-8")

    stamp = web.clock.now().astimezone(web.registry.calendar(region).tz).strftime("%Y%m%d-%H%M")
    return Stream(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-{region}-{stamp}.csv"'},
    )


ROUTES = [
    admin_home,
    admin_region,
    admin_users,
    admin_user_create,
    admin_user,
    admin_user_change,
    admin_units,
    admin_unit_change,
    admin_sops,
    admin_sop_change,
    admin_keys,
    admin_key_create,
    admin_key_revoke,
    admin_audit,
    admin_audit_csv,
]
