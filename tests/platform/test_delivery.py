"""Delivering the outbox on SQLite and PostgreSQL, through a real SMTP server and a real webhook.

The SMTP server is aiosmtpd on a free local port; the webhook is ``http.server`` in a thread. The
clock is virtual (Monday 24 November 2025, 09:00 WIB) and moves only when a test moves it, so
retries are proven to wait for their backoff and crashed claims for their lease.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine, select, update
from sqlmodel import col

from sop_platform import delivery
from sop_platform.accounts import add_user
from sop_platform.db import is_sqlite, make_engine, transaction
from sop_platform.delivery import (
    NO_RECIPIENTS,
    ConfigError,
    Deliverer,
    OutgoingMessage,
    Recipients,
    SmtpTransport,
    TransportError,
    Transports,
    WebhookTransport,
    backoff,
    recipients_for,
    run_forever,
)
from sop_platform.engine import CaseEngine, Grant, NewCase, ReporterInfo
from sop_platform.migrate import upgrade
from sop_platform.models import Notification, NotificationAttempt, UserAccount
from sop_platform.outbox import enqueue, render
from sop_platform.timekeeping import VirtualClock

REGION = "yogyakarta"
SENDER = "SOP Kota Yogyakarta <noreply@pemda.example.id>"
SECRET = "rahasia-webhook"
LEASE = timedelta(minutes=5)
PARAMS = {
    "tracking": "UPIK-2025-000042",
    "step_title": "Verifikasi",
    "sop_title": "UPIK Pengaduan",
    "due_text_id": " Batas waktu 24 November 2025 11.00 WIB.",
    "due_text_en": " Due 24 November 2025 11:00 WIB.",
}
SUBJECT_ID = "Tugas baru: UPIK-2025-000042 — Verifikasi"
SUBJECT_EN = "New task: UPIK-2025-000042 — Verifikasi"


# --- local servers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    messages: list[Received] = field(default_factory=list)
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def transport(self, **kw: Any) -> SmtpTransport:
        return SmtpTransport("127.0.0.1", self.port, sender=SENDER, timeout=5, **kw)

    def message_ids(self) -> list[str]:
        return [str(r.message["Message-ID"]) for r in self.messages]


def _start_smtp(inbox: Inbox, **kwargs: Any) -> Controller:
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, **kwargs)
    controller.start()
    return controller


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    controller = _start_smtp(box)
    try:
        yield box
    finally:
        controller.stop()


@dataclass
class Hook:
    """A webhook receiver: keeps each request and answers from ``statuses`` (then 200)."""

    url: str = ""
    requests: list[tuple[Message, bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def transport(self, secret: str | None = SECRET) -> WebhookTransport:
        return WebhookTransport(self.url, secret, timeout=5)


@pytest.fixture
def hook() -> Iterator[Hook]:
    state = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.lock:
                state.requests.append((self.headers, body))
                status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/sop/notify?token=abc"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Recorder:
    """A stand-in transport that keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[OutgoingMessage, str, tuple[str, ...]]] = []

    def send(self, message: OutgoingMessage, channel: str, to: Sequence[str]) -> str | None:
        self.sent.append((message, channel, tuple(to)))
        return None


# --- data helpers -------------------------------------------------------------------------------


def staff(
    engine: Engine,
    clock: VirtualClock,
    username: str,
    grants: Sequence[Grant],
    email: str | None = None,
    phone: str | None = None,
    active: bool = True,
) -> int:
    user_id = add_user(engine, username, username.title(), "pw", grants, clock.now())
    with transaction(engine) as s:
        user = s.get(UserAccount, user_id)
        assert user is not None
        user.email, user.phone, user.active = email, phone, active
    return user_id


_serial = iter(range(1, 1_000_000))


def notify(
    engine: Engine,
    clock: VirtualClock,
    *,
    audience: str = "role",
    role: str | None = "admin_opd",
    unit: str | None = "dlh",
    case_id: int | None = None,
    kind: str = "assignment",
    language: str = "id",
) -> int:
    """Enqueue one notification the way the engine does; returns its id."""
    key = f"test-{next(_serial)}"
    table = Notification.__table__  # type: ignore[attr-defined]
    with transaction(engine) as s:
        conn = s.connection()
        enqueue(
            conn,
            now=clock.now(),
            region=REGION,
            kind=kind,
            audience=audience,
            params=PARAMS,
            role=role if audience == "role" else None,
            unit=unit if audience == "role" else None,
            case_id=case_id,
            dedupe_key=key,
        )
        nid: int = conn.execute(select(table.c.id).where(table.c.dedupe_key == key)).scalar_one()
        if language != "id":
            conn.execute(update(table).where(table.c.id == nid).values(language=language))
    return nid


def row(engine: Engine, nid: int) -> Notification:
    with transaction(engine) as s:
        found = s.get(Notification, nid)
        assert found is not None
        return found


def attempts(engine: Engine, nid: int) -> list[NotificationAttempt]:
    with transaction(engine) as s:
        return list(
            s.scalars(
                select(NotificationAttempt)
                .where(col(NotificationAttempt.notification_id) == nid)
                .order_by(col(NotificationAttempt.id))
            ).all()
        )


def emailed(engine: Engine, nid: int) -> list[NotificationAttempt]:
    """The email attempts (staff with a phone also get an sms attempt, ok or unavailable)."""
    return [a for a in attempts(engine, nid) if a.channel == "email"]


def quiet_outbox(engine: Engine) -> None:
    """Set aside notifications the engine itself wrote (these tests enqueue their own)."""
    with transaction(engine) as s:
        s.execute(
            update(Notification).where(col(Notification.status) == "pending").values(status="sent")
        )


def submit(cases: CaseEngine, reporter: ReporterInfo | None, anonymous: bool = False) -> int:
    view = cases.submit(
        NewCase(
            "upik-pengaduan",
            "jss",
            "Sampah menumpuk di Jalan Kaliurang",
            {"kategori": "kebersihan"},
            reporter=reporter,
            anonymous=anonymous,
        )
    )
    quiet_outbox(cases.engine)
    return view.id


@pytest.fixture
def dlh_admins(db_engine: Engine, clock: VirtualClock, registry: Any) -> None:
    """admin_opd at DLH (two, one inactive), at PU, region-wide; a petugas at DLH; elsewhere."""
    staff(db_engine, clock, "admin.dlh", [Grant(REGION, "admin_opd", "dlh")], "dlh@jogja.example")
    staff(
        db_engine,
        clock,
        "admin.dlh.lama",
        [Grant(REGION, "admin_opd", "dlh")],
        "lama@jogja.example",
        active=False,
    )
    staff(db_engine, clock, "admin.pu", [Grant(REGION, "admin_opd", "dpupkp")], "pu@jogja.example")
    staff(
        db_engine,
        clock,
        "admin.kota",
        [Grant(REGION, "admin_opd", None), Grant(REGION, "admin_opd", "dlh")],
        "kota@jogja.example",
        "+62 812 0000 0001",
    )
    staff(db_engine, clock, "petugas.dlh", [Grant(REGION, "petugas_lapangan", "dlh")], "p@x.id")
    staff(db_engine, clock, "admin.jambi", [Grant("jambi", "admin_opd", "dlh")], "jambi@x.id")


# --- pure parts -------------------------------------------------------------------------------


def test_backoff_doubles_from_30_seconds_and_stops_at_an_hour() -> None:
    got = [backoff(n).total_seconds() for n in range(1, 11)]
    assert got == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert backoff(1000) == timedelta(hours=1)


def test_transports_from_the_environment() -> None:
    none = Transports.from_env({})
    assert none.email is None and none.sms is None
    assert "unavailable (SOP_SMTP_HOST unset)" in none.describe()

    both = Transports.from_env(
        {
            "SOP_SMTP_HOST": "smtp.example.id",
            "SOP_SMTP_USER": "sop",
            "SOP_SMTP_PASSWORD": "s3cret",
            "SOP_SMTP_FROM": SENDER,
            "SOP_SMTP_STARTTLS": "true",
            "SOP_WEBHOOK_URL": "https://gw.example.id/send?token=t0k3n",
            "SOP_WEBHOOK_SECRET": SECRET,
        }
    )
    assert isinstance(both.email, SmtpTransport) and isinstance(both.sms, WebhookTransport)
    assert (both.email.port, both.email.starttls, both.email.username) == (587, True, "sop")
    assert both.sms.secret == SECRET
    text = both.describe()
    assert "s3cret" not in text and "t0k3n" not in text and SECRET not in text

    plain = Transports.from_env({"SOP_SMTP_HOST": "mail", "SOP_SMTP_FROM": "a@b.id"})
    assert isinstance(plain.email, SmtpTransport) and plain.email.port == 25
    assert not plain.email.starttls and plain.sms is None

    for bad in (
        {"SOP_SMTP_HOST": "mail"},
        {"SOP_SMTP_HOST": "mail", "SOP_SMTP_FROM": "a@b.id", "SOP_SMTP_PORT": "smtp"},
        {"SOP_SMTP_HOST": "mail", "SOP_SMTP_FROM": "a@b.id", "SOP_SMTP_STARTTLS": "maybe"},
        {"SOP_SMTP_HOST": "mail", "SOP_SMTP_FROM": "nobody"},
        {"SOP_WEBHOOK_URL": "file:///etc/passwd"},
    ):
        with pytest.raises(ConfigError):
            Transports.from_env(bad)


# --- recipients ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("dlh_admins")
def test_role_audience_with_a_unit_reaches_that_units_staff_and_region_wide_holders(
    db_engine: Engine, clock: VirtualClock
) -> None:
    with transaction(db_engine) as s:
        conn = s.connection()
        dlh = recipients_for(conn, audience="role", region=REGION, role="admin_opd", unit="dlh")
        everyone = recipients_for(conn, audience="role", region=REGION, role="admin_opd")
        nobody = recipients_for(conn, audience="role", region=REGION, role="kepala_dinas")
    # Not the inactive DLH admin, not PU's admin, not the petugas, not Jambi's admin; the
    # region-wide admin (who also holds a DLH grant) once.
    assert sorted(dlh.emails) == ["dlh@jogja.example", "kota@jogja.example"]
    assert dlh.phones == ("+62 812 0000 0001",)
    assert sorted(everyone.emails) == [
        "dlh@jogja.example",
        "kota@jogja.example",
        "pu@jogja.example",
    ]
    assert nobody == Recipients()

    email, sms = Recorder(), Recorder()
    nid = notify(db_engine, clock, unit="dlh")
    assert Deliverer(db_engine, Transports(email, sms), clock).deliver_due() == 1
    [(message, channel, to)] = email.sent
    assert channel == "email" and sorted(to) == ["dlh@jogja.example", "kota@jogja.example"]
    assert message.notification_id == nid and message.subject == SUBJECT_ID
    assert sms.sent[0][1:] == ("sms", ("+62 812 0000 0001",))
    assert row(db_engine, nid).status == "sent"
    assert [(a.channel, a.recipients, a.ok) for a in attempts(db_engine, nid)] == [
        ("email", 2, True),
        ("sms", 1, True),
    ]


def test_the_reporter_of_an_identified_case_is_reached(
    db_engine: Engine, clock: VirtualClock, cases: CaseEngine
) -> None:
    case_id = submit(cases, ReporterInfo(name="Siti", email="siti@example.id", phone="0812 555"))
    nid = notify(db_engine, clock, audience="reporter", case_id=case_id, kind="status")
    email, sms = Recorder(), Recorder()
    assert Deliverer(db_engine, Transports(email, sms), clock).deliver_due() == 1
    assert [s[1:] for s in email.sent] == [("email", ("siti@example.id",))]
    assert [s[1:] for s in sms.sent] == [("sms", ("0812 555",))]
    assert email.sent[0][0].subject == "Perkembangan laporan UPIK-2025-000042"
    assert row(db_engine, nid).status == "sent"


def test_an_anonymous_case_has_no_reporter_to_notify(
    db_engine: Engine, clock: VirtualClock, cases: CaseEngine
) -> None:
    case_id = submit(cases, ReporterInfo(name="Siti", email="siti@example.id"), anonymous=True)
    with transaction(db_engine) as s:
        found = recipients_for(s.connection(), audience="reporter", region=REGION, case_id=case_id)
    assert found.empty
    nid = notify(db_engine, clock, audience="reporter", case_id=case_id, kind="status")
    email, sms = Recorder(), Recorder()
    assert Deliverer(db_engine, Transports(email, sms), clock).deliver_due() == 1
    assert email.sent == [] and sms.sent == []
    # Marked sent (not retried for ever), with an attempt that says why nothing went out.
    done = row(db_engine, nid)
    assert done.status == "sent" and done.sent_at == clock.now() and done.attempts == 1
    [attempt] = attempts(db_engine, nid)
    assert (attempt.channel, attempt.recipients, attempt.ok, attempt.error) == (
        "none",
        0,
        True,
        NO_RECIPIENTS,
    )


# --- SMTP -----------------------------------------------------------------------------------------


@pytest.mark.usefixtures("dlh_admins")
def test_email_through_a_real_smtp_server(
    db_engine: Engine, clock: VirtualClock, inbox: Inbox
) -> None:
    nid = notify(db_engine, clock, unit="dlh")
    deliverer = Deliverer(db_engine, Transports(email=inbox.transport()), clock)
    assert deliverer.deliver_due() == 1

    [got] = inbox.messages
    assert got.mail_from == "noreply@pemda.example.id"
    assert sorted(got.rcpt_tos) == ["dlh@jogja.example", "kota@jogja.example"]
    mail = got.message
    assert mail["Subject"] == SUBJECT_ID
    assert mail["Message-ID"] == f"<sop-notification-{nid}@pemda.example.id>"
    assert mail["To"] == SENDER and mail["Bcc"] is None  # recipients do not see each other
    assert mail["Content-Language"] == "id"
    assert mail["Date"].datetime == clock.now()
    body = mail.get_content()
    assert 'menunggu Anda pada tahap "Verifikasi"' in body
    assert "kota@jogja.example" not in mail.as_string()

    [attempt] = emailed(db_engine, nid)
    assert (attempt.channel, attempt.recipients, attempt.ok, attempt.error) == (
        "email",
        2,
        True,
        None,
    )
    assert attempt.at == clock.now()
    done = row(db_engine, nid)
    assert (done.status, done.sent_at, done.attempts, done.last_error) == (
        "sent",
        clock.now(),
        1,
        None,
    )
    assert deliverer.deliver_due() == 0  # nothing left; sent once
    assert len(inbox.messages) == 1


@pytest.mark.usefixtures("dlh_admins")
def test_english_rendering(db_engine: Engine, clock: VirtualClock, inbox: Inbox) -> None:
    nid = notify(db_engine, clock, language="en")
    assert Deliverer(db_engine, Transports(email=inbox.transport()), clock).deliver_due() == 1
    [got] = inbox.messages
    assert got.message["Subject"] == SUBJECT_EN
    assert got.message["Content-Language"] == "en"
    assert 'now waits for you at step "Verifikasi". Due 24 November' in got.message.get_content()
    assert row(db_engine, nid).status == "sent"


@pytest.mark.usefixtures("dlh_admins")
def test_smtp_login_and_a_refused_login(db_engine: Engine, clock: VirtualClock) -> None:
    logins: list[tuple[str, str]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        assert isinstance(data, LoginPassword)
        logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password == b"benar", handled=False)

    box = Inbox()
    controller = _start_smtp(box, auth_require_tls=False, authenticator=authenticator)
    try:
        wrong = Deliverer(
            db_engine, Transports(email=box.transport(username="sop", password="salah")), clock
        )
        nid = notify(db_engine, clock)
        assert wrong.deliver_due() == 1
        [failed] = emailed(db_engine, nid)
        assert not failed.ok and failed.error is not None and "535" in failed.error
        assert row(db_engine, nid).status == "pending"

        clock.advance(backoff(1))
        right = Deliverer(
            db_engine, Transports(email=box.transport(username="sop", password="benar")), clock
        )
        assert right.deliver_due() == 1
        assert row(db_engine, nid).status == "sent"
        assert len(box.messages) == 1
        # (smtplib tries PLAIN, then LOGIN, before it gives up on a password)
        assert set(logins) == {("sop", "salah"), ("sop", "benar")}
        assert logins[-1] == ("sop", "benar")
    finally:
        controller.stop()


@pytest.mark.usefixtures("dlh_admins")
def test_smtp_server_down_is_a_recorded_failure_and_stays_pending(
    db_engine: Engine, clock: VirtualClock
) -> None:
    closed = SmtpTransport("127.0.0.1", free_port(), sender=SENDER, timeout=2)
    nid = notify(db_engine, clock)
    assert Deliverer(db_engine, Transports(email=closed), clock).deliver_due() == 1
    [attempt] = emailed(db_engine, nid)
    assert attempt.channel == "email" and attempt.recipients == 2 and not attempt.ok
    assert attempt.error is not None and "Connection refused" in attempt.error
    waiting = row(db_engine, nid)
    assert waiting.status == "pending" and waiting.attempts == 1
    assert waiting.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert waiting.last_error == (
        f"email: {attempt.error}; sms: sms channel unavailable (SOP_WEBHOOK_URL unset)"
    )


@pytest.mark.usefixtures("dlh_admins")
def test_an_unconfigured_channel_is_recorded_and_does_not_block_the_other(
    db_engine: Engine, clock: VirtualClock, inbox: Inbox
) -> None:
    only_email = notify(db_engine, clock, unit="dpupkp")  # admin.pu (email) and admin.kota (both)
    deliverer = Deliverer(db_engine, Transports(email=inbox.transport()), clock)
    assert deliverer.deliver_due() == 1
    assert [(a.channel, a.ok, a.error) for a in attempts(db_engine, only_email)] == [
        ("email", True, None),
        ("sms", False, "sms channel unavailable (SOP_WEBHOOK_URL unset)"),
    ]
    assert row(db_engine, only_email).status == "sent"

    # With no channel at all for its recipients, it waits (and is retried) like a failure.
    nothing = Deliverer(db_engine, Transports(), clock)
    nid = notify(db_engine, clock)
    assert nothing.deliver_due() == 1
    assert [(a.channel, a.ok) for a in attempts(db_engine, nid)] == [
        ("email", False),
        ("sms", False),
    ]
    waiting = row(db_engine, nid)
    assert waiting.status == "pending"
    assert waiting.last_error == (
        "email: email channel unavailable (SOP_SMTP_HOST unset); "
        "sms: sms channel unavailable (SOP_WEBHOOK_URL unset)"
    )


# --- webhook ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("dlh_admins")
def test_webhook_body_idempotency_key_and_signature(
    db_engine: Engine, clock: VirtualClock, hook: Hook
) -> None:
    nid = notify(db_engine, clock)
    assert Deliverer(db_engine, Transports(sms=hook.transport()), clock).deliver_due() == 1
    [(headers, body)] = hook.requests
    assert json.loads(body) == {
        "id": nid,
        "channel": "sms",
        "to": ["+62 812 0000 0001"],
        "subject": SUBJECT_ID,
        "text": render("assignment", PARAMS, "id")[1],
        "language": "id",
    }
    assert json.loads(body)["text"].startswith("Kasus UPIK-2025-000042 (UPIK Pengaduan)")
    assert headers["Idempotency-Key"] == f"sop-notification-{nid}"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-SOP-Signature"] == f"sha256={expected}"
    assert [(a.channel, a.recipients, a.ok) for a in attempts(db_engine, nid)] == [
        ("email", 2, False),  # no SMTP configured in this test
        ("sms", 1, True),
    ]
    assert row(db_engine, nid).status == "sent"

    unsigned = notify(db_engine, clock)
    assert Deliverer(db_engine, Transports(sms=hook.transport(None)), clock).deliver_due() == 1
    assert hook.requests[-1][0]["X-SOP-Signature"] is None
    assert json.loads(hook.requests[-1][1])["id"] == unsigned


def _phone_only_staff(engine: Engine, clock: VirtualClock, registry: Any) -> None:
    staff(engine, clock, "telepon.dlh", [Grant(REGION, "admin_opd", "dlh")], None, "081234")


def test_webhook_failure_is_retried_after_its_backoff_then_sent(
    db_engine: Engine, clock: VirtualClock, hook: Hook, registry: Any
) -> None:
    _phone_only_staff(db_engine, clock, registry)
    hook.statuses = [500, 503]
    nid = notify(db_engine, clock)
    deliverer = Deliverer(db_engine, Transports(sms=hook.transport()), clock)

    assert deliverer.deliver_due() == 1
    [first] = attempts(db_engine, nid)
    assert (first.channel, first.ok, first.error) == (
        "sms",
        False,
        "webhook answered HTTP 500 Internal Server Error",
    )
    waiting = row(db_engine, nid)
    assert waiting.status == "pending" and waiting.attempts == 1
    assert waiting.next_attempt_at == clock.now() + timedelta(seconds=30)

    clock.advance(timedelta(seconds=29))
    assert deliverer.deliver_due() == 0  # not before its time
    clock.advance(timedelta(seconds=1))
    assert deliverer.deliver_due() == 1  # answered 503: the second backoff is one minute
    assert row(db_engine, nid).next_attempt_at == clock.now() + timedelta(minutes=1)
    clock.advance(timedelta(seconds=59))
    assert deliverer.deliver_due() == 0
    clock.advance(timedelta(seconds=1))
    assert deliverer.deliver_due() == 1

    done = row(db_engine, nid)
    assert (done.status, done.sent_at, done.attempts, done.last_error) == (
        "sent",
        clock.now(),
        3,
        None,
    )
    assert [a.ok for a in attempts(db_engine, nid)] == [False, False, True]
    assert len(hook.requests) == 3
    assert {h["Idempotency-Key"] for h, _ in hook.requests} == {f"sop-notification-{nid}"}


def test_after_max_attempts_a_notification_is_dead(
    db_engine: Engine, clock: VirtualClock, hook: Hook, registry: Any
) -> None:
    _phone_only_staff(db_engine, clock, registry)
    hook.statuses = [500] * 3 + [302]
    nid = notify(db_engine, clock)
    deliverer = Deliverer(db_engine, Transports(sms=hook.transport()), clock, max_attempts=4)
    for n in range(1, 5):
        assert deliverer.deliver_due() == 1
        clock.advance(backoff(n))
    dead = row(db_engine, nid)
    assert dead.status == "dead" and dead.attempts == 4 and dead.sent_at is None
    # A redirect is not a success either (a POST must not silently become a GET).
    assert dead.last_error == "sms: webhook answered HTTP 302 Found"
    assert len(attempts(db_engine, nid)) == 4
    clock.advance(timedelta(days=1))
    assert deliverer.deliver_due() == 0
    assert len(hook.requests) == 4


@pytest.mark.usefixtures("dlh_admins")
def test_a_retry_resends_only_the_channel_that_failed(
    db_engine: Engine, clock: VirtualClock, inbox: Inbox, hook: Hook
) -> None:
    hook.statuses = [500]
    nid = notify(db_engine, clock)
    deliverer = Deliverer(db_engine, Transports(inbox.transport(), hook.transport()), clock)
    assert deliverer.deliver_due() == 1
    assert row(db_engine, nid).status == "pending"
    clock.advance(backoff(1))
    assert deliverer.deliver_due() == 1
    assert row(db_engine, nid).status == "sent"
    assert len(inbox.messages) == 1 and len(hook.requests) == 2
    assert [(a.channel, a.ok) for a in attempts(db_engine, nid)] == [
        ("email", True),
        ("sms", False),
        ("sms", True),
    ]


# --- never lost, never twice ------------------------------------------------------------------


class Crash(BaseException):
    """The process dying in the middle of a send (not an ordinary, caught error)."""


class Crashing:
    def send(self, message: OutgoingMessage, channel: str, to: Sequence[str]) -> str | None:
        raise Crash


@pytest.mark.usefixtures("dlh_admins")
def test_a_crash_after_the_claim_loses_nothing(
    db_engine: Engine, clock: VirtualClock, inbox: Inbox
) -> None:
    nid = notify(db_engine, clock)
    claimed_at = clock.now()
    with pytest.raises(Crash):
        Deliverer(db_engine, Transports(email=Crashing()), clock, lease=LEASE).deliver_due()
    # The claim was committed before sending: counted, leased, nothing recorded.
    leased = row(db_engine, nid)
    assert leased.status == "pending" and leased.attempts == 1
    assert leased.next_attempt_at == claimed_at + LEASE
    assert attempts(db_engine, nid) == []

    other = Deliverer(db_engine, Transports(email=inbox.transport()), clock, lease=LEASE)
    assert other.deliver_due() == 0
    clock.advance(LEASE - timedelta(seconds=1))
    assert other.deliver_due() == 0  # still leased to the worker that died
    clock.advance(timedelta(seconds=1))
    assert other.deliver_due() == 1
    clock.advance(timedelta(hours=2))
    assert other.deliver_due() == 0

    assert inbox.message_ids() == [f"<sop-notification-{nid}@pemda.example.id>"]
    done = row(db_engine, nid)
    assert done.status == "sent" and done.attempts == 2
    assert [(a.channel, a.ok) for a in emailed(db_engine, nid)] == [("email", True)]


@pytest.mark.usefixtures("dlh_admins")
def test_claims_that_never_come_back_end_dead(db_engine: Engine, clock: VirtualClock) -> None:
    nid = notify(db_engine, clock)
    deliverer = Deliverer(db_engine, Transports(email=Recorder()), clock, max_attempts=2)
    for _ in range(2):  # the claim step alone: the worker dies before sending, twice
        assert [c.id for c in deliverer.claim()] == [nid]
        clock.advance(LEASE)
    assert deliverer.claim() == []
    dead = row(db_engine, nid)
    assert dead.status == "dead" and dead.attempts == 2
    assert dead.last_error is not None and "worker stopped while sending" in dead.last_error


@pytest.mark.usefixtures("dlh_admins")
def test_a_late_worker_does_not_undo_the_worker_that_took_over(
    db_engine: Engine, clock: VirtualClock
) -> None:
    quick = Recorder()
    taker = Deliverer(db_engine, Transports(email=quick), clock, lease=LEASE)

    class Stuck:
        """A send that hangs past the lease; meanwhile another worker delivers it."""

        def send(self, message: OutgoingMessage, channel: str, to: Sequence[str]) -> str | None:
            clock.advance(LEASE + timedelta(seconds=1))
            assert taker.deliver_due() == 1
            raise TransportError("timed out")

    nid = notify(db_engine, clock)
    late = Deliverer(db_engine, Transports(email=Stuck()), clock, lease=LEASE)
    assert late.deliver_due() == 1
    done = row(db_engine, nid)
    assert (done.status, done.attempts, done.last_error) == ("sent", 2, None)
    assert sorted((a.ok, a.error) for a in emailed(db_engine, nid)) == [
        (False, "timed out"),
        (True, None),
    ]
    assert len(quick.sent) == 1


@pytest.mark.usefixtures("dlh_admins")
def test_a_batch_leaves_what_its_lease_no_longer_covers(
    db_engine: Engine, clock: VirtualClock
) -> None:
    class Slow:
        def __init__(self) -> None:
            self.sent: list[int] = []

        def send(self, message: OutgoingMessage, channel: str, to: Sequence[str]) -> str | None:
            self.sent.append(message.notification_id)
            clock.advance(timedelta(minutes=4, seconds=1))  # past 4/5 of the 5-minute lease
            return None

    first, second = notify(db_engine, clock), notify(db_engine, clock)
    slow = Slow()
    deliverer = Deliverer(db_engine, Transports(email=slow), clock, lease=LEASE)
    assert deliverer.deliver_due() == 1
    assert slow.sent == [first]
    assert row(db_engine, second).status == "pending"
    clock.advance(timedelta(minutes=1))  # the lease on the second has run out
    assert deliverer.deliver_due() == 1
    assert slow.sent == [first, second]
    assert row(db_engine, second).attempts == 2


def test_two_workers_deliver_each_of_50_notifications_exactly_once(
    db_engine: Engine, clock: VirtualClock, inbox: Inbox, registry: Any
) -> None:
    staff(db_engine, clock, "a", [Grant(REGION, "admin_opd", "dlh")], "a@jogja.example")
    staff(db_engine, clock, "b", [Grant(REGION, "admin_opd", None)], "b@jogja.example")
    ids = [notify(db_engine, clock) for _ in range(50)]

    class Paced:
        """The real SMTP transport, a little slower, so that the two workers overlap."""

        def __init__(self) -> None:
            self.smtp = inbox.transport()

        def send(self, message: OutgoingMessage, channel: str, to: Sequence[str]) -> str | None:
            time.sleep(0.01)
            return self.smtp.send(message, channel, to)

    start = threading.Barrier(2)
    handled: dict[str, int] = {}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            deliverer = Deliverer(db_engine, Transports(email=Paced()), clock)
            start.wait()
            total = 0
            while n := deliverer.deliver_due(limit=5):
                total += n
            handled[name] = total
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert sum(handled.values()) == 50
    assert min(handled.values()) > 0, handled  # both took part

    expected = sorted(f"<sop-notification-{nid}@pemda.example.id>" for nid in ids)
    assert sorted(inbox.message_ids()) == expected  # every one received, none twice
    assert all(sorted(m.rcpt_tos) == ["a@jogja.example", "b@jogja.example"] for m in inbox.messages)
    with transaction(db_engine) as s:
        rows = s.scalars(select(Notification)).all()
        tries = s.scalars(select(NotificationAttempt)).all()
    assert {(n.status, n.attempts) for n in rows} == {("sent", 1)}
    assert sorted(a.notification_id for a in tries) == sorted(ids)
    assert all(a.ok for a in tries)


@pytest.mark.usefixtures("dlh_admins")
def test_a_locked_notification_is_skipped_not_waited_for(
    db_engine: Engine, clock: VirtualClock
) -> None:
    if is_sqlite(db_engine):
        pytest.skip("SKIP LOCKED is PostgreSQL's; on SQLite, BEGIN IMMEDIATE queues the workers")
    busy, free = notify(db_engine, clock), notify(db_engine, clock)
    sent = Recorder()
    deliverer = Deliverer(db_engine, Transports(email=sent), clock)
    result: list[int] = []
    with db_engine.connect() as other, other.begin():
        table = Notification.__table__  # type: ignore[attr-defined]
        other.execute(select(table).where(table.c.id == busy).with_for_update())
        worker = threading.Thread(target=lambda: result.append(deliverer.deliver_due()))
        worker.start()
        worker.join(20)
        assert not worker.is_alive(), "the worker waited for the locked row"
    assert result == [1]
    assert [m.notification_id for m, _, _ in sent.sent] == [free]
    assert row(db_engine, busy).status == "pending" and row(db_engine, busy).attempts == 0


@pytest.mark.usefixtures("dlh_admins")
def test_an_unknown_kind_or_audience_is_dead_at_once(
    db_engine: Engine, clock: VirtualClock
) -> None:
    bad_kind, bad_audience = notify(db_engine, clock), notify(db_engine, clock)
    with transaction(db_engine) as s:
        s.execute(
            update(Notification).where(col(Notification.id) == bad_kind).values(kind="pengumuman")
        )
        s.execute(
            update(Notification)
            .where(col(Notification.id) == bad_audience)
            .values(audience="semua")
        )
    sent = Recorder()
    assert Deliverer(db_engine, Transports(email=sent), clock).deliver_due() == 2
    assert sent.sent == []
    assert row(db_engine, bad_kind).status == "dead"
    assert row(db_engine, bad_kind).last_error == "no template for notification kind 'pengumuman'"
    assert row(db_engine, bad_audience).status == "dead"
    assert row(db_engine, bad_audience).last_error == "unknown audience 'semua'"


# --- the loop and the command ---------------------------------------------------------------------


def test_run_forever_survives_a_failing_pass_and_stops_when_told() -> None:
    stop = threading.Event()

    class Flaky:
        def __init__(self) -> None:
            self.calls = 0

        def deliver_due(self, limit: int = 50) -> int:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("database away")
            if self.calls == 2:
                return limit  # a full batch: look again at once
            stop.set()
            return 0

    flaky = Flaky()
    started = time.monotonic()
    run_forever(flaky, interval=0.01, stop=stop)  # type: ignore[arg-type]
    assert flaky.calls == 3 and time.monotonic() - started < 5


def test_the_deliver_command_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as s:
        enqueue(
            s.connection(),
            now=datetime.now(UTC) - timedelta(seconds=1),
            region=REGION,
            kind="breach",
            audience="role",
            role="admin_pusat",
            params=PARAMS,
        )
    engine.dispose()

    parser = argparse.ArgumentParser(prog="sop")
    delivery.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["deliver", "--once", "--interval", "2"])
    assert args.once and args.interval == 2.0 and args.func is delivery.command

    monkeypatch.setenv("SOP_DATABASE_URL", url)
    for name in ("SOP_SMTP_HOST", "SOP_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "email: unavailable (SOP_SMTP_HOST unset)" in out
    assert "1 notification handled" in out

    engine = make_engine(url)
    with transaction(engine) as s:
        [done] = s.scalars(select(Notification)).all()
        [attempt] = s.scalars(select(NotificationAttempt)).all()
    engine.dispose()
    assert (attempt.channel, attempt.ok, attempt.error) == ("none", True, NO_RECIPIENTS)
    assert done.status == "sent" and done.last_error is None

    monkeypatch.setenv("SOP_SMTP_HOST", "mail.example.id")  # without SOP_SMTP_FROM
    assert args.func(args) == 2
    assert "SOP_SMTP_FROM" in capsys.readouterr().err
