"""Staff record a new case (``/kasus/baru``): the SOPs whose reports a member of staff submits.

Who may record (decided from the seeds): exactly the SOPs whose ``submission.by`` is a
non-citizen role the signed-in user holds in the SOP's region, and for a unit-staff role only a
case routed to one of their units (``sop_platform.cases.submission_scope``, checked again by the
engine). Cirebon's help desk is such an SOP: the Call Taker reports a fault of the Siaga 112
application by telephone, WhatsApp or SMS. A citizen SOP is not offered to staff, not even to an
operator who takes the citizen's phone call: every seed citizen SOP names its channels (JSS,
LAPOR!, SMS to the LAPOR! number, ...) and none of them is a clerk typing in a call, so a report
recorded that way would arrive by a channel the SOP does not serve and in a role the clerk does
not hold. JSS emergency calls to the Petugas Operator Komunikasi come in through the JSS
application in the seed, which the citizen uses themselves.

The reporter is the staff member: the case records them as ``submitted_by_user_id`` and the
first event carries their name. The form is idempotent like ``/lapor``: its one-time token,
scoped to the user, is the idempotency key, so a resent form opens the same case.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery
from litestar.response import Redirect

from rules.model import Sop
from sop_platform.cases import (
    Actor,
    EngineError,
    IdempotencyMismatch,
    NewCase,
    ReporterInfo,
)
from web import i18n
from web.context import Web, blocking, is_htmx, lang_of, page, web_of
from web.forms import ENTRY_PREFIX, field_inputs, submission_fields
from web.staff import recordable_sops

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# Identity kinds the staff member's own name satisfies, where an SOP asks for identity.
NAME_IDENTITY = ("nama", "name")


def _chosen(sops: list[Sop], sop_id: str | None) -> Sop:
    if not sops:
        raise NotFoundException()  # nothing to record: the same 404 as a page that is not there
    if not sop_id:
        return sops[0]
    for sop in sops:
        if sop.sop == sop_id:
            return sop
    raise NotFoundException()


def _context(
    web: Web,
    sops: list[Sop],
    sop: Sop,
    lang: str,
    *,
    token: str | None = None,
    values: dict[str, str] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    values = values or {}
    region = web.registry.region(sop.region)
    channels = [
        (key, region.channels[key].title if key in region.channels else key)
        for key in sop.submission.channels
    ]
    return {
        "sops": [(s.sop, f"{s.title} ({web.registry.region(s.region).name})") for s in sops],
        "sop": sop,
        "region_name": region.name,
        "channels": channels,
        "channel": values.get("kanal", ""),
        "inputs": field_inputs(sop, values, lang),
        "text": values.get("isi", ""),
        "token": token or secrets.token_urlsafe(24),
        "error": error,
    }


@get("/kasus/baru", name="record_form")
async def record_form(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    sop: FromQuery[str | None] = None,
) -> Response[Any]:
    return await blocking(_record_form, request, web_of(state), actor, sop)


def _record_form(
    request: Request[Any, Any, Any], web: Web, actor: Actor, sop_id: str | None
) -> Response[Any]:
    sops = recordable_sops(web, actor)
    chosen = _chosen(sops, sop_id)
    return page(request, "kasus_baru.html", _context(web, sops, chosen, lang_of(request)))


@post("/kasus/baru", name="record_submit")
async def record_submit(
    request: Request[Any, Any, Any], state: State, actor: NamedDependency[Actor]
) -> Response[Any]:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    return await blocking(_record_submit, request, web_of(state), actor, values)


def _record_submit(
    request: Request[Any, Any, Any], web: Web, actor: Actor, values: dict[str, str]
) -> Response[Any]:
    lang = lang_of(request)
    sops = recordable_sops(web, actor)
    sop = _chosen(sops, values.get("sop") or "-")  # a post names its SOP; no default
    token = values.get("token", "")
    if not TOKEN_RE.match(token):
        token = secrets.token_urlsafe(24)  # a form without a valid token still works, once
    fields = {
        name: values[ENTRY_PREFIX + name]
        for name in submission_fields(sop)
        if values.get(ENTRY_PREFIX + name, "").strip()
    }
    reporter = None
    if set(sop.submission.identity_any_of) & set(NAME_IDENTITY):
        reporter = ReporterInfo(name=actor.name)
    new = NewCase(
        sop_id=sop.sop,
        channel=values.get("kanal", ""),
        text=values.get("isi", ""),
        fields=fields,
        reporter=reporter,
        # The key is the user's: another clerk's token can never name this clerk's case.
        idempotency_key=f"web-kasus:{actor.user_id}:{token}",
        submitted_by=actor,
    )

    def refused(message: str, status: int, keep_token: bool) -> Response[Any]:
        context = _context(
            web, sops, sop, lang, token=token if keep_token else None, values=values, error=message
        )
        return page(request, "kasus_baru.html", context, block="record_form", status_code=status)

    try:
        view = web.cases.submit(new)
    except IdempotencyMismatch:
        return refused(i18n.translate("report.reused", lang), 409, keep_token=False)
    except EngineError as err:
        return refused(i18n.message_of(err, lang), 422, keep_token=True)
    target = f"/kasus/{view.id}"
    if is_htmx(request):  # htmx loads the page itself (a 303 would be followed inside the XHR)
        return Response(content=b"", status_code=200, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)


ROUTES = [record_form, record_submit]
