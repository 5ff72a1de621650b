"""Who is calling the API: an API key (header ``X-API-Key``), a signed-in staff session, or
nobody; and the API's own settings on ``app.state.api``.

* A key acts as the grants it was given (:mod:`sop_platform.apikeys`). A key that is wrong,
  malformed or revoked is a 401 — never treated as no key.
* A session acts as the signed-in user, exactly as on the web pages. The API paths are left out
  of the app-wide CSRF middleware (API-key calls carry no cookies, so there is nothing to forge),
  and a session's unsafe call is checked here instead: the ``x-csrftoken`` header must match the
  CSRF cookie, as on the pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from secrets import compare_digest
from typing import Any

import anyio.to_thread
from litestar import Request
from litestar.datastructures import State
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash

from sop_platform import apikeys
from sop_platform.apikeys import ApiKeyInfo
from sop_platform.cases import Actor
from web.api.errors import ApiProblem
from web.api.limits import RequestLimiter
from web.auth import load_actor
from web.context import web_of

KEY_HEADER = "X-API-Key"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class ApiSettings:
    """The API's knobs: its rate limiter and how the session's CSRF token is carried."""

    limiter: RequestLimiter
    csrf_secret: str
    csrf_cookie: str
    csrf_header: str
    max_body: int = 256 * 1024  # bytes; a report's text is at most 20 000 characters


def api_of(state: State) -> ApiSettings:
    found: ApiSettings = state.api
    return found


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: the engine's actor, and the key if it came with one."""

    actor: Actor
    key: ApiKeyInfo | None = None

    @property
    def ident(self) -> str:
        """Who, for namespacing idempotency keys (one client's keys never meet another's)."""
        if self.key is not None:
            return f"key:{self.key.id}"
        return f"user:{self.actor.user_id}"


def _csrf_valid(token: str, secret: str) -> str | None:
    """The random part of a signed CSRF token, if its signature holds (as Litestar signs it)."""
    if len(token) <= CSRF_SECRET_LENGTH:
        return None
    raw, signature = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
    return raw if compare_digest(signature, generate_csrf_hash(raw, secret)) else None


def csrf_matches(header: str | None, cookie: str | None, secret: str) -> bool:
    if not header or not cookie:
        return False
    sent, kept = _csrf_valid(header, secret), _csrf_valid(cookie, secret)
    return sent is not None and kept is not None and compare_digest(sent, kept)


async def caller_of(request: Request[Any, Any, Any]) -> Caller | None:
    """The caller, ``None`` when anonymous; 401 for a bad key, 403 for a session without CSRF."""
    key = request.headers.get(KEY_HEADER)
    web = web_of(request.app.state)
    if key is not None:
        found = await anyio.to_thread.run_sync(
            apikeys.authenticate, web.engine, key, web.clock.now()
        )
        if found is None:
            raise ApiProblem(
                401,
                "bad_api_key",
                "Kunci API tidak dikenal atau sudah dicabut.",
                "Unknown or revoked API key.",
            )
        return Caller(found.actor, found.key)
    actor = await load_actor(request)
    if actor is None:
        return None
    if request.method not in SAFE_METHODS:
        settings = api_of(request.app.state)
        if not csrf_matches(
            request.headers.get(settings.csrf_header),
            request.cookies.get(settings.csrf_cookie),
            settings.csrf_secret,
        ):
            raise ApiProblem(
                403,
                "csrf",
                "Token CSRF tidak cocok; kirim header x-csrftoken dari cookie sesi.",
                "CSRF token missing or wrong; send the x-csrftoken header from the session.",
            )
    return Caller(actor)


async def provide_optional_caller(request: Request[Any, Any, Any]) -> Caller | None:
    return await caller_of(request)


async def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    found = await caller_of(request)
    if found is None:
        raise ApiProblem(401, headers={"WWW-Authenticate": f'ApiKey header="{KEY_HEADER}"'})
    return found


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "-"


async def limit(request: Request[Any, Any, Any], bucket: str) -> None:
    """Count an anonymous call; 429 with ``Retry-After`` past the limit."""
    wait = await api_of(request.app.state).limiter.hit(bucket, client_address(request))
    if wait is not None:
        raise ApiProblem(429, headers={"Retry-After": str(wait)})
