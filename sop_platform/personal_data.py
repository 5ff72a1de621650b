"""Who may see a reporter's identity, and what a reporter may take away (UU 27/2022).

The identity is kept apart from the case (the ``reporter`` row). It is shown

* never for an anonymous report (no row is stored, none is read);
* for an identified report, to the SOP staff roles that hold the case now or may act on it —
  unit staff of the case's unit and region staff of its region, as the case page shows them;
* for a confidential report, only to the role responsible for the step the case is at now
  (the step's ``by`` and the roles of its actions): the one who may have to call the reporter
  back. Everyone else at the case works on the report without knowing who made it; a closed
  confidential case shows the identity to no one;
* never to external roles (Admin Nasional, a vendor) nor to the platform roles (compliance
  officer, region administrator): none of them needs it for their work.

The public tracking page never shows the identity; a confidential report does not appear there
at all (only its secret link opens it). The reporter, proved by the secret link, may download
everything held about them as JSON (:func:`citizen_export`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import select as core_select
from sqlmodel import SQLModel, col, select

from rules.model import RoleKind, Sop
from sop_platform.cases import Actor, CaseView
from sop_platform.db import transaction
from sop_platform.engine import CaseEngine
from sop_platform.models import (
    Attachment,
    CaseEvent,
    CaseRow,
    Notification,
    Reporter,
    ServiceRequestRow,
)
from sop_platform.registry import Registry

STAFF_KINDS = (RoleKind.unit_staff, RoleKind.region_staff)
# What the reporter reads of the history: what staff addressed to them (as on the tracking page).
CITIZEN_ENTRIES = ("jawaban", "laporan")


def responsible_roles(sop: Sop, step_id: str) -> set[str]:
    """The roles that act at a step: its ``by`` and its actions' roles."""
    step = sop.steps.get(step_id)
    if step is None or step.terminal:
        return set()
    roles = {step.by} if step.by else set()
    for action in step.actions.values():
        roles.update(sop.action_roles(step, action))
    return roles


def may_see_reporter(actor: Actor, view: CaseView, sop: Sop) -> bool:
    if view.anonymous:
        return False
    held = actor.roles_for(view.region, view.unit, sop, view.id)
    staff = {r for r in held if r in sop.roles and sop.roles[r].kind in STAFF_KINDS}
    if not staff:
        return False
    if not view.confidential:
        return True
    return bool(staff & responsible_roles(sop, view.step))


def reporter_for(cases: CaseEngine, actor: Actor, case_id: int) -> Reporter | None:
    """The reporter's identity if this actor may see it now, else ``None``."""
    view = cases.get(case_id)
    sop = cases.registry.by_hash(view.content_hash).sop
    if not may_see_reporter(actor, view, sop):
        return None
    return cases.reporter(case_id)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def citizen_export(
    engine: Engine, registry: Registry, case_id: int, now: datetime
) -> dict[str, Any]:
    """Everything held about the reporter of one case, for them to download.

    Staff members' names are left out (they are the staff's personal data, not the
    reporter's); roles and steps are given by their ids and titles.
    """
    with transaction(engine) as session:
        case = session.get(CaseRow, case_id)
        if case is None:
            raise KeyError(case_id)
        sop = registry.by_hash(case.content_hash, conn=session.connection()).sop
        reporter = (
            session.get(Reporter, case.reporter_id)
            if case.reporter_id is not None and not case.anonymous
            else None
        )
        events = list(
            session.exec(
                select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.seq))
            )
        )
        attachments = list(
            session.exec(
                select(Attachment).where(Attachment.case_id == case_id).order_by(col(Attachment.id))
            )
        )
        notices = list(
            session.exec(
                select(Notification)
                .where(Notification.case_id == case_id, Notification.audience == "reporter")
                .order_by(col(Notification.id))
            )
        )
        rating = _rating(session.connection(), case_id)
        arrival = session.exec(
            select(ServiceRequestRow).where(ServiceRequestRow.case_id == case_id)
        ).first()
    history = []
    for e in events:
        entries = e.payload.get("entries") if isinstance(e.payload, dict) else None
        said = (
            {k: v for k, v in entries.items() if k in CITIZEN_ENTRIES}
            if isinstance(entries, dict)
            else {}
        )
        history.append(
            {
                "at": _iso(e.at),
                "kind": e.kind,
                "from_step": e.from_step,
                "to_step": e.to_step,
                "step_title": sop.steps[e.to_step].title if e.to_step in sop.steps else None,
                "to_you": said,
            }
        )
    retention = sop.retention
    return {
        "exported_at": _iso(now),
        "tracking_number": case.tracking_number,
        "region": case.region_id,
        "sop": {"id": case.sop_id, "version": case.sop_version, "title": sop.title},
        "channel": case.channel,
        "status": case.status,
        "step": case.step,
        "received_at": _iso(case.created_at),
        "closed_at": _iso(case.closed_at),
        "anonymous": case.anonymous,
        "confidential": case.confidential,
        "reporter": None
        if reporter is None
        else {
            "name": reporter.name,
            "nik": reporter.nik,
            "email": reporter.email,
            "phone": reporter.phone,
            "other": dict(reporter.extra or {}),
        },
        "report": {"text": case.text, "fields": dict(case.fields or {})},
        "history": history,
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "uploaded_at": _iso(a.uploaded_at),
            }
            for a in attachments
        ],
        "notifications": [
            {"created_at": _iso(n.created_at), "kind": n.kind, "status": n.status} for n in notices
        ],
        "rating": rating,
        "sent_by_an_application": None
        if arrival is None
        else {
            "lat": arrival.lat,
            "long": arrival.long,
            "address": arrival.address,
            "address_id": arrival.address_id,
            "media_url": arrival.media_url,
            "device_id": arrival.device_id,
            "account_id": arrival.account_id,
        },
        "retention": {
            "period": retention.text if retention else None,
            "personal_data_erased_at": _iso(case.personal_data_erased_at),
            "erased_after": _iso(retention.expires(case.closed_at))
            if retention and case.closed_at
            else None,
        },
    }


def _rating(conn: Any, case_id: int) -> dict[str, Any] | None:
    # The rating table belongs to the feedback feature; read it only where it exists.
    table = SQLModel.metadata.tables.get("citizen_rating")
    if table is None:
        return None
    found = conn.execute(
        core_select(table.c.score, table.c.comment, table.c.created_at).where(
            table.c.case_id == case_id
        )
    ).first()
    if found is None:
        return None
    return {"score": found.score, "comment": found.comment, "at": _iso(found.created_at)}
