"""Server-side sessions that survive a restart, with the session id rotated at sign-in.

Litestar's server-side backend keeps the session data in a store (here a file store, so a restart
does not sign anyone out) and only an opaque random id in the cookie. Three things are changed:

* **Rotation.** A handler that signs someone in marks the request (:func:`rotate`); the session is
  then saved under a fresh id and the old id is deleted, so an id planted before sign-in (session
  fixation) is worth nothing after it.
* **Unknown ids are never adopted.** A cookie naming an id the store does not hold gets a new id
  when the session is first saved, instead of the client's choice.
* **Empty sessions are not stored.** A visitor who never signs in (a citizen reporting) costs no
  file and gets no session cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import Empty, Message, ScopeSession
from litestar.utils.dataclass import extract_dataclass_items

_ROTATE = "sop.session.rotate"
_KNOWN = "sop.session.known"


def rotate(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Save this request's session under a new id (call at sign-in)."""
    connection.scope[_ROTATE] = True  # type: ignore[literal-required]


class RotatingSessionBackend(ServerSideSessionBackend):
    async def load_from_connection(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> dict[str, Any]:
        session_id = connection.cookies.get(self.config.key)
        if session_id and session_id != "null":
            store = self.config.get_store_from_app(connection.scope["app"])
            data = await self.get(session_id, store=store)
            if data is not None:
                connection.scope[_KNOWN] = session_id  # type: ignore[literal-required]
                return self.deserialize_data(data)
        return {}

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        scope: Any = connection.scope
        store = self.config.get_store_from_app(scope["app"])
        headers = MutableScopeHeaders.from_message(message)
        cookie_params = dict(
            extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys())
        )
        known: str | None = scope.get(_KNOWN)
        sent = connection.cookies.get(self.config.key)
        if scope_session is Empty or not scope_session:
            if known:
                await self.delete(known, store=store)
            if sent and sent != "null":
                headers.add(
                    "Set-Cookie",
                    Cookie(value="null", key=self.config.key, expires=0, **cookie_params).to_header(
                        header=""
                    ),
                )
            return
        session_id = known
        if session_id is None or scope.get(_ROTATE):
            if session_id is not None:
                await self.delete(session_id, store=store)
            session_id = self.generate_session_id()
        await self.set(session_id, self.serialize_data(scope_session, scope), store=store)
        headers.add(
            "Set-Cookie",
            Cookie(value=session_id, key=self.config.key, **cookie_params).to_header(header=""),
        )


@dataclass
class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend
