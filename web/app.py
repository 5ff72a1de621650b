"""The Litestar application: :func:`create_app` builds one from its collaborators (no globals).

What is set here, beyond Litestar's defaults (see ``shared/ARCHITECTURE.md``):

* sessions live server-side in a file store under ``store_dir`` (a restart signs nobody out),
  with the id rotated at sign-in (:mod:`web.sessions`);
* CSRF on every unsafe request: forms carry ``{{ csrf_input }}``, htmx sends the token in the
  header given by ``hx-headers`` on ``<body>``;
* an unauthenticated page request is redirected to ``/masuk?next=...``; an htmx or JSON request
  gets 401;
* htmx is told to swap 4xx/5xx responses (``htmx-config`` in the layout), and errors without a
  place of their own are retargeted to the page's message area;
* every 500 is logged with its traceback.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from jinja2_fragments.litestar import HTMXBlockTemplate
from litestar import Litestar, MediaType, Request, Response, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, ResponseHeader, State
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.stores.file import FileStore
from litestar.template.config import TemplateConfig
from sqlalchemy import Engine

from sop_platform.attachments import AttachmentStore
from sop_platform.engine import CaseEngine
from sop_platform.feedback import Feedback
from sop_platform.registry import Registry
from sop_platform.timekeeping import Clock
from web import (
    admin,
    auth,
    citizen,
    i18n,
    observability,
    privacy,
    reports,
    sop_pages,
    staff,
    staff_submit,
)
from web.api import openapi_config as api_openapi_config
from web.api import router as api_router
from web.api import status_response as api_status_response
from web.api.access import ApiSettings
from web.api.limits import Limit, RequestLimiter
from web.auth import load_actor
from web.context import (
    HTMX_FILE,
    STATIC,
    TEMPLATES,
    Settings,
    Web,
    common_context,
    is_htmx,
    lang_of,
    page,
)
from web.open311 import PREFIX as OPEN311_PREFIX
from web.open311 import fallback as open311_fallback
from web.open311 import router as open311_router
from web.ratelimit import LoginLimiter
from web.sessions import RotatingSessionConfig

log = logging.getLogger("web")

SESSION_COOKIE = "sop_session"
CSRF_COOKIE = "sop_csrf"
CSRF_HEADER = "x-csrftoken"

# Calls without a key, per client address: at most so many in so many seconds.
API_LIMITS = {"submit": Limit(10, 60), "track": Limit(60, 60)}

SECURITY_HEADERS = [
    ResponseHeader(
        name="Content-Security-Policy",
        value="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'self'",
    ),
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
    ResponseHeader(name="X-Frame-Options", value="DENY"),
    ResponseHeader(name="Referrer-Policy", value="same-origin"),
]


@get("/", name="home")
async def home(request: Request[Any, Any, Any]) -> Response[Any]:
    if await load_actor(request) is not None:
        return Redirect("/antrean")
    return page(request, "index.html", {})


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _error(request: Request[Any, Any, Any], status: int) -> Response[Any]:
    """An error as the asker can use it: JSON, an htmx fragment for the message area, or a page."""
    path = request.url.path
    if path.startswith("/api/"):
        return api_status_response(status)  # the API's own error format
    if path.startswith(OPEN311_PREFIX + "/"):
        return open311_fallback(request, status)
    lang = lang_of(request)
    key = f"error.{status}"
    try:
        message = i18n.translate(key, lang)
    except KeyError:
        message = i18n.translate("error.500" if status >= 500 else "error.400", lang)
    if _wants_json(request):
        return Response({"status_code": status, "detail": message}, status_code=status)
    context = {**common_context(request), "status": status, "message": message}
    if is_htmx(request):
        return HTMXBlockTemplate(
            template_name="galat.html",
            context=context,
            block_name="error_message",
            status_code=status,
            headers={"HX-Retarget": "#pesan", "HX-Reswap": "innerHTML"},
        )
    return HTMXBlockTemplate(template_name="galat.html", context=context, status_code=status)


def _not_authorized(request: Request[Any, Any, Any], exc: NotAuthorizedException) -> Response[Any]:
    if _wants_json(request) or is_htmx(request):
        return _error(request, 401)
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    if request.method != "GET":
        target = "/antrean"
    return Redirect(f"/masuk?next={quote(target, safe='/')}", status_code=303)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code >= 500:
        log.error(
            "HTTP %s on %s %s", exc.status_code, request.method, request.url.path, exc_info=exc
        )
    return _error(request, exc.status_code)


def _server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    try:
        return _error(request, 500)
    except Exception:  # the error page itself failed: plain text, never a traceback
        log.exception("the error page failed")
        return Response(
            i18n.translate("error.500", lang_of(request)),
            status_code=500,
            media_type=MediaType.TEXT,
        )


def create_app(
    engine: Engine,
    registry: Registry,
    clock: Clock,
    *,
    secret: str,
    store_dir: Path,
    uploads_dir: Path | None = None,
    secure_cookies: bool = False,
    session_max_age: int = 8 * 60 * 60,
    login_attempts: int = 5,
    login_window: int = 60,
    page_size: int = 25,
    poll_seconds: int = 30,
    ready_worker_age: float = 60.0,
    api_limits: dict[str, Limit] | None = None,
    debug: bool = False,
) -> Litestar:
    """The web application on this database, registry and clock.

    ``secret`` signs the CSRF tokens (at least 32 characters; keep it stable across restarts).
    ``store_dir`` holds the sessions and the sign-in attempt counts; the same directory after a
    restart keeps everyone signed in. ``secure_cookies`` marks cookies HTTPS-only (set it behind
    TLS). ``uploads_dir`` holds the citizens' photos (default: ``store_dir / "uploads"``).
    """
    if len(secret) < 32:
        raise ValueError("the secret must be at least 32 characters")
    settings = Settings(
        secret=secret,
        store_dir=Path(store_dir),
        secure_cookies=secure_cookies,
        session_max_age=session_max_age,
        login_attempts=login_attempts,
        login_window=login_window,
        page_size=page_size,
        poll_seconds=poll_seconds,
        ready_worker_age=ready_worker_age,
        debug=debug,
    )
    sessions = FileStore(settings.store_dir / "sessions", create_directories=True)
    attempts = FileStore(settings.store_dir / "ratelimit", create_directories=True)
    for store in (sessions, attempts):
        Path(store.path).mkdir(parents=True, exist_ok=True)
    web = Web(
        engine=engine,
        registry=registry,
        clock=clock,
        settings=settings,
        cases=CaseEngine(engine, registry, clock),
        htmx_available=HTMX_FILE.is_file(),
        limiter=LoginLimiter(attempts, login_attempts, login_window),
        attachments=AttachmentStore(
            engine, Path(uploads_dir or settings.store_dir / "uploads"), clock
        ),
        feedback=Feedback(engine, clock),
    )
    if not web.htmx_available:
        log.warning(
            "%s is missing: pages work as plain forms; run `python web/fetch_htmx.py`", HTMX_FILE
        )

    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["year"] = datetime.now().year
    template_config = TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))
    session_config = RotatingSessionConfig(
        key=SESSION_COOKIE,
        store=auth.SESSION_STORE,
        max_age=session_max_age,
        renew_on_access=True,
        secure=secure_cookies,
        httponly=True,
        samesite="lax",
        exclude=["^/static/"],
    )
    csrf_config = CSRFConfig(
        secret=secret,
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=secure_cookies,
        cookie_httponly=True,
        cookie_samesite="lax",
        # API-key calls carry no cookies; the API checks a session's token itself (web.api.access)
        exclude=["^/static/", "^/api/", "^/open311/"],
    )
    static = create_static_files_router(
        path="/static",
        directories=[STATIC],
        name="static",
        cache_control=CacheControlHeader(max_age=3600),
        include_in_schema=False,
    )

    api_settings = ApiSettings(
        limiter=RequestLimiter(attempts, {**API_LIMITS, **(api_limits or {})}),
        csrf_secret=secret,
        csrf_cookie=CSRF_COOKIE,
        csrf_header=CSRF_HEADER,
    )

    async def sweep_expired() -> None:
        """Expired entries are otherwise removed only when read again."""
        for store in (sessions, attempts):
            await store.delete_expired()

    return Litestar(
        on_startup=[sweep_expired],
        route_handlers=[
            home,
            *auth.ROUTES,
            *admin.ROUTES,
            *privacy.ROUTES,
            *staff_submit.ROUTES,
            *staff.ROUTES,
            *sop_pages.ROUTES,
            *reports.ROUTES,
            *citizen.ROUTES,
            *observability.ROUTES,
            static,
            api_router(api_settings.max_body),
            open311_router(),
        ],
        dependencies={
            "actor": Provide(auth.provide_actor),
            "db": Provide(staff.provide_db),
        },
        stores={auth.SESSION_STORE: sessions, auth.LIMITER_STORE: attempts},
        middleware=[observability.observe, session_config.middleware],
        csrf_config=csrf_config,
        template_config=template_config,
        plugins=[HTMXPlugin()],
        exception_handlers={
            NotAuthorizedException: _not_authorized,
            HTTPException: _http_error,
            Exception: _server_error,
        },
        response_headers=SECURITY_HEADERS,
        state=State({"web": web, "api": api_settings}),
        # The OpenAPI document describes the JSON API only (/api/v1/openapi.json).
        openapi_config=api_openapi_config(SESSION_COOKIE),
        include_in_schema=False,
        debug=debug,
    )
