"""What every handler works with (the engine, registry, clock, settings) and how pages render.

One template per page; its blocks are the fragments. A request from htmx gets the block it asked
for (rendered by jinja2-fragments), any other request the whole page, so every page also works as
plain HTML forms without JavaScript.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import anyio.to_thread
from jinja2_fragments.litestar import HTMXBlockTemplate
from litestar import Request, Response
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect
from sqlalchemy import Engine

from sop_platform.attachments import AttachmentStore
from sop_platform.engine import CaseEngine
from sop_platform.feedback import Feedback
from sop_platform.registry import Registry
from sop_platform.timekeeping import Clock
from web import i18n
from web.ratelimit import LoginLimiter

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES = WEB_DIR / "templates"
STATIC = WEB_DIR / "static"
HTMX_FILE = STATIC / "vendor" / "htmx.min.js"


@dataclass(frozen=True)
class Settings:
    """The knobs of one web application (see :func:`web.app.create_app`)."""

    secret: str
    store_dir: Path
    secure_cookies: bool = False
    session_max_age: int = 8 * 60 * 60  # one working day
    login_attempts: int = 5
    login_window: int = 60  # seconds
    page_size: int = 25
    poll_seconds: int = 30
    ready_worker_age: float = 60.0  # seconds without a sweeper heartbeat before /ready fails
    debug: bool = False


@dataclass
class Web:
    """The application's collaborators, kept on ``app.state.web`` (no module globals)."""

    engine: Engine
    registry: Registry
    clock: Clock
    settings: Settings
    cases: CaseEngine
    htmx_available: bool
    limiter: LoginLimiter
    attachments: AttachmentStore
    feedback: Feedback


P = ParamSpec("P")
R = TypeVar("R")


async def blocking(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run database and engine work in a worker thread. Handlers are all ``async``: Litestar
    wraps a sync handler again each time it is registered (a second app from the same handler
    objects, or GET and POST on one path), and the doubly wrapped one returns a coroutine."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


def web_of(state: State) -> Web:
    found: Web = state.web
    return found


def lang_of(request: Request[Any, Any, Any]) -> str:
    return i18n.normalise(request.cookies.get(i18n.COOKIE))


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    """An htmx request that wants a fragment (a history restore wants the whole page)."""
    headers = request.headers
    return headers.get("hx-request") == "true" and headers.get("hx-history-restore-request") != (
        "true"
    )


def _administers(request: Request[Any, Any, Any]) -> bool:
    """Whether the signed-in user (if this request loaded them) administers a region."""
    from sop_platform.roles import ADMIN_DAERAH
    from web.auth import _ACTOR  # web.auth imports this module: read its key late

    actor: Any = request.scope.get(_ACTOR)
    return actor is not None and any(g.role == ADMIN_DAERAH for g in actor.grants)


def common_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    web = web_of(request.app.state)
    lang = lang_of(request)
    session = request.scope.get("session")
    user = session.get("name") if isinstance(session, dict) else None
    registry = web.registry

    def when(moment: datetime | None, region: str) -> str:
        return registry.local_text(moment, region)

    return {
        "lang": lang,
        "t": i18n.translator(lang),
        "status_word": lambda status: i18n.status_word(status, lang),
        "when": when,
        "user_name": user,
        "admin_link": _administers(request),
        "htmx_available": web.htmx_available,
        "poll_seconds": web.settings.poll_seconds,
        "current_path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "can_report": _can_report(request),
    }


def _can_report(request: Request[Any, Any, Any]) -> bool:
    """Whether the signed-in actor (as read for this request) may open the conformance report:
    the region's compliance officer (kepatuhan) or administrator (admin_daerah)."""
    actor = request.scope.get("sop.actor")  # cached there by web.auth.load_actor
    grants = getattr(actor, "grants", ())
    return any(g.role in ("kepatuhan", "admin_daerah") for g in grants)


def page(
    request: Request[Any, Any, Any],
    template: str,
    context: Mapping[str, Any],
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMXBlockTemplate:
    """The whole page, or only ``block`` when htmx asks."""
    merged = {**common_context(request), **context}
    if block is not None and is_htmx(request):
        return HTMXBlockTemplate(
            template_name=template,
            context=merged,
            block_name=block,
            status_code=status_code,
            headers=headers or {},
        )
    return HTMXBlockTemplate(
        template_name=template, context=merged, status_code=status_code, headers=headers or {}
    )


# A form posted by a plain HTML form or by htmx (both send it URL-encoded).
FORM = Body(media_type=RequestEncodingType.URL_ENCODED)


def form_text(data: Mapping[str, Any], key: str) -> str:
    """A form field's text, stripped; empty when it is missing or not text."""
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def redirect(request: Request[Any, Any, Any], target: str) -> Response[Any]:
    """Go to ``target`` after a successful post: htmx is told to load it itself (a 303 would be
    followed inside its request), a plain form gets a 303."""
    if is_htmx(request):
        return Response(content=None, status_code=204, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)
