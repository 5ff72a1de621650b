"""The engine writes its notifications in the same transaction as the change they report.

So a change that commits always has its notifications waiting in the outbox (nothing is lost if
the app dies right after the commit: the delivery worker sends them later), and a change that is
refused or fails writes none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from sop_platform.accounts import add_user
from sop_platform.cases import Actor, Grant, NewCase, Refused, ReporterInfo
from sop_platform.db import transaction
from sop_platform.delivery import Deliverer, OutgoingMessage, Transports
from sop_platform.engine import CaseEngine
from sop_platform.models import Notification, UserAccount
from sop_platform.timekeeping import VirtualClock

ADMIN_DLH = Actor("Admin DLH", (Grant("yogyakarta", "admin_opd", "dlh"),))


class Outbox:
    """A transport that keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, tuple[str, ...]]] = []

    def send(self, message: OutgoingMessage, channel: str, to: Sequence[str]) -> str | None:
        self.sent.append((message.subject, channel, tuple(to)))
        return None


def _pending(engine: Engine) -> list[tuple[str, str, str | None]]:
    with transaction(engine) as session:
        rows = session.exec(  # type: ignore[call-overload]
            select(Notification.kind, Notification.audience, Notification.role)
            .where(Notification.status == "pending")
            .order_by(Notification.id)
        ).all()
    return [tuple(r) for r in rows]


def _count(engine: Engine) -> int:
    with transaction(engine) as session:
        return int(session.exec(select(func.count()).select_from(Notification)).one()[0])  # type: ignore[call-overload]


def _upik(cases: CaseEngine, reporter: ReporterInfo | None = None) -> int:
    new = NewCase(
        "upik-pengaduan",
        "jss",
        "Sampah menumpuk",
        {"kategori": "kebersihan"},
        reporter=reporter,
        anonymous=reporter is None,
    )
    return cases.submit(new).id


def test_a_command_commits_its_notifications_with_it(cases: CaseEngine, db_engine: Engine) -> None:
    case_id = _upik(cases, ReporterInfo(name="Siti", email="siti@example.id"))
    assert _pending(db_engine) == [("assignment", "role", "admin_opd")]
    cases.act(case_id, ADMIN_DLH, "terima")
    assert _pending(db_engine)[1:] == [("assignment", "role", "petugas_lapangan")]


def test_the_reporter_hears_of_a_status_change_but_never_an_anonymous_one(
    cases: CaseEngine, db_engine: Engine
) -> None:
    petugas = Actor("Petugas", (Grant("yogyakarta", "petugas_lapangan", "dlh"),))
    for reporter in (ReporterInfo(name="Siti", email="siti@example.id"), None):
        case_id = _upik(cases, reporter)
        cases.act(case_id, ADMIN_DLH, "terima")
        cases.act(case_id, petugas, "ambil")
        cases.act(case_id, petugas, "selesai", {"jawaban": "Sudah diangkut."})
    statuses = [k for k, audience, _ in _pending(db_engine) if audience == "reporter"]
    assert statuses == ["status"]  # one for the identified case's closing, none for the anonymous


def test_a_refused_command_writes_no_notification(cases: CaseEngine, db_engine: Engine) -> None:
    case_id = _upik(cases)
    before = _count(db_engine)
    with pytest.raises(Refused):
        cases.act(case_id, ADMIN_DLH, "tolak")  # no alasan
    assert _count(db_engine) == before


def test_a_failing_commit_writes_no_notification(
    cases: CaseEngine, db_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = _upik(cases)
    before = _count(db_engine)

    def boom(self: Session) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(Session, "commit", boom)
    with pytest.raises(RuntimeError):
        cases.act(case_id, ADMIN_DLH, "terima")
    monkeypatch.undo()
    assert _count(db_engine) == before
    assert cases.get(case_id).step == "verifikasi"


def test_what_was_committed_is_delivered_after_a_restart(
    cases: CaseEngine, db_engine: Engine, clock: VirtualClock, registry: Any
) -> None:
    user_id = add_user(
        db_engine,
        "admin.dlh",
        "Admin DLH",
        "pw",
        [Grant("yogyakarta", "admin_opd", "dlh")],
        clock.now(),
    )
    with transaction(db_engine) as session:
        user = session.get(UserAccount, user_id)
        assert user is not None
        user.email = "admin.dlh@jogja.example"
    _upik(cases)  # committed; the process "dies" here without delivering anything
    sent = Outbox()
    deliverer = Deliverer(db_engine, Transports(email=sent), clock)  # a fresh worker later
    assert deliverer.deliver_due() == 1
    ((subject, channel, to),) = sent.sent
    assert channel == "email" and to == ("admin.dlh@jogja.example",)
    assert subject.startswith("Tugas baru:")
    assert _pending(db_engine) == []
