"""Sign-in, sign-out, the signed-in actor, and the language switch.

* Passwords are checked by :func:`sop_platform.accounts.authenticate` (argon2), off the event loop.
* Sign-in attempts are limited per username and client address (:mod:`web.ratelimit`); a
  successful sign-in clears the count.
* At sign-in the session id is rotated (:func:`web.sessions.rotate`).
* The actor (name and role grants) is read from the database on each request, so a revoked grant
  or a deactivated account takes effect at once.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException
from litestar.params import Body, FromQuery
from litestar.response import Redirect
from msgspec import Struct

from sop_platform.accounts import AccountError, actor_for, authenticate
from sop_platform.cases import Actor
from web import i18n
from web.context import lang_of, page, redirect, web_of
from web.sessions import rotate

LIMITER_STORE = "ratelimit"
SESSION_STORE = "sessions"
_ACTOR = "sop.actor"


def safe_next(target: str | None) -> str:
    """Only a path on this site (never ``//host`` or a scheme) is followed after sign-in."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/antrean"
    return target


async def load_actor(request: Request[Any, Any, Any]) -> Actor | None:
    """The signed-in actor, or ``None``; read once per request."""
    if _ACTOR in request.scope:
        cached: Actor | None = request.scope[_ACTOR]  # type: ignore[literal-required]
        return cached
    session = request.scope.get("session")
    username = session.get("username") if isinstance(session, dict) else None
    actor: Actor | None = None
    if isinstance(username, str):
        engine = web_of(request.app.state).engine
        try:
            actor = await anyio.to_thread.run_sync(actor_for, engine, username)
        except AccountError:
            request.clear_session()  # the account is gone or deactivated
    request.scope[_ACTOR] = actor  # type: ignore[literal-required]
    return actor


async def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    """The dependency of every staff page: the actor, or 401 (a redirect to sign-in for pages)."""
    actor = await load_actor(request)
    if actor is None:
        raise NotAuthorizedException()
    return actor


class LoginForm(Struct):
    username: str = ""
    password: str = ""
    next: str = ""


Form = Body(media_type=RequestEncodingType.URL_ENCODED)


@get("/masuk", name="login")
async def login_page(
    request: Request[Any, Any, Any], next: FromQuery[str] = "", keluar: FromQuery[str] = ""
) -> Response[Any]:
    if await load_actor(request) is not None:
        return Redirect(safe_next(next))
    lang = lang_of(request)
    notice = None
    if keluar:
        notice = i18n.translate("logout.done", lang)
    elif next:
        notice = i18n.translate("login.needed", lang)
    context = {
        "next": safe_next(next) if next else "",
        "username": "",
        "error": None,
        "notice": notice,
    }
    return page(request, "masuk.html", context)


@post("/masuk", name="login_post")
async def login(
    request: Request[Any, Any, Any],
    state: State,
    data: Annotated[LoginForm, Form],
) -> Response[Any]:
    web = web_of(state)
    lang = lang_of(request)
    address = request.client.host if request.client else "-"
    limiter = web.limiter
    context = {"next": data.next, "username": data.username, "notice": None}
    if not await limiter.hit(data.username, address):
        return page(
            request,
            "masuk.html",
            {**context, "error": i18n.translate("login.limited", lang)},
            block="login_form",
            status_code=429,
        )
    actor = await anyio.to_thread.run_sync(
        authenticate, web.engine, data.username.strip(), data.password
    )
    if actor is None:
        return page(
            request,
            "masuk.html",
            {**context, "error": i18n.translate("login.failed", lang)},
            block="login_form",
            status_code=401,
        )
    await limiter.clear(data.username, address)
    request.set_session(
        {"uid": actor.user_id, "username": data.username.strip(), "name": actor.name}
    )
    rotate(request)
    target = safe_next(data.next)
    return redirect(request, target)


@post("/keluar", name="logout")
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    request.clear_session()
    return Redirect("/masuk?keluar=1", status_code=303)


class LanguageForm(Struct):
    lang: str = i18n.DEFAULT
    next: str = "/"


@post("/bahasa", name="language")
async def language(data: Annotated[LanguageForm, Form]) -> Redirect:
    """Switch the interface language (a cookie, so it works before sign-in too)."""
    target = data.next if data.next.startswith("/") and not data.next.startswith("//") else "/"
    response = Redirect(target, status_code=303)
    response.set_cookie(
        i18n.COOKIE,
        i18n.normalise(data.lang),
        max_age=365 * 24 * 60 * 60,
        httponly=True,
        samesite="lax",
        path="/",
    )
    return response


ROUTES = [login_page, login, logout, language]
