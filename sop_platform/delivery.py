"""Delivering the notifications outbox: claim, commit, send, record; retried, never lost.

A worker (``sop deliver``) repeats three steps:

1. **Claim** (one short transaction): take the due notifications (``status = 'pending'`` and
   ``next_attempt_at <= now``, oldest first; on PostgreSQL with ``FOR UPDATE SKIP LOCKED`` so that
   several workers never take the same one), count the try, push ``next_attempt_at`` to
   ``now + lease``, look up the recipients and render the text, and **commit before sending**.
2. **Send**, outside any transaction: email through SMTP, phone numbers through the webhook.
3. **Record** (a new transaction): one ``NotificationAttempt`` per channel tried, then the
   notification is ``sent``, scheduled for a retry with exponential backoff, or ``dead``.

A worker that dies between 1 and 3 leaves the notification pending with its lease: once the lease
runs out another worker takes it again. Delivery is therefore *at least once*; the email
``Message-ID`` and the webhook ``Idempotency-Key`` are derived from the notification id so that a
repeat can be recognised. A retry only resends the channels that have not yet succeeded.

Addresses are looked up at delivery time (``recipients_for``) and never written to the outbox or the
attempt rows. Every time comes from the injected clock. Operators' guide: docs/notifications.md.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import os
import signal
import smtplib
import ssl
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from http.client import HTTPMessage
from types import FrameType
from typing import IO, Any, Protocol

from sqlalchemy import Connection, Engine, Row, insert, or_, select, update

from sop_platform.db import is_sqlite, transaction
from sop_platform.models import (
    CaseRow,
    Notification,
    NotificationAttempt,
    Reporter,
    RoleGrant,
    UserAccount,
)
from sop_platform.outbox import TEMPLATES, render
from sop_platform.telemetry import Heartbeat
from sop_platform.timekeeping import Clock, SystemClock

log = logging.getLogger(__name__)

EMAIL = "email"
SMS = "sms"
NONE_CHANNEL = "none"
NO_RECIPIENTS = "no recipients"

FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)

_N = Notification.__table__  # type: ignore[attr-defined]
_ATTEMPT = NotificationAttempt.__table__  # type: ignore[attr-defined]
_USER = UserAccount.__table__  # type: ignore[attr-defined]
_GRANT = RoleGrant.__table__  # type: ignore[attr-defined]
_CASE = CaseRow.__table__  # type: ignore[attr-defined]
_REPORTER = Reporter.__table__  # type: ignore[attr-defined]


def backoff(attempt: int) -> timedelta:
    """How long to wait after the ``attempt``-th failed try: 30 s, 1 min, 2 min, 4 min … ≤ 1 h."""
    doublings = min(max(attempt, 1) - 1, 20)
    return min(FIRST_RETRY * (1 << doublings), LONGEST_RETRY)


# --- recipients -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipients:
    """Where a notification goes: email addresses and phone numbers (deduplicated, in order)."""

    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.emails and not self.phones


class UnknownAudience(ValueError):
    pass


def _collect(pairs: Iterable[tuple[str | None, str | None]]) -> Recipients:
    emails: dict[str, str] = {}
    phones: dict[str, str] = {}
    for email, phone in pairs:
        if email and email.strip():
            emails.setdefault(email.strip().lower(), email.strip())
        if phone and phone.strip():
            phones.setdefault("".join(phone.split()), phone.strip())
    return Recipients(tuple(emails.values()), tuple(phones.values()))


def recipients_for(
    conn: Connection,
    *,
    audience: str,
    region: str,
    role: str | None = None,
    unit: str | None = None,
    case_id: int | None = None,
) -> Recipients:
    """The addresses of a notification's audience, as they are now.

    ``role``: active users holding the role in the region; with a unit, only grants for that unit
    and region-wide grants (``unit_key`` NULL). ``reporter``: the case's reporter, never for an
    anonymous case (the reporter row is not even read).
    """
    if audience == "role":
        if not role:
            return Recipients()
        query = (
            select(_USER.c.email, _USER.c.phone)
            .select_from(_USER.join(_GRANT, _GRANT.c.user_id == _USER.c.id))
            .where(
                _GRANT.c.region_id == region,
                _GRANT.c.role == role,
                _USER.c.active.is_(True),
            )
            .distinct()
            .order_by(_USER.c.email, _USER.c.phone)
        )
        if unit is not None:
            query = query.where(or_(_GRANT.c.unit_key == unit, _GRANT.c.unit_key.is_(None)))
        return _collect((row.email, row.phone) for row in conn.execute(query))
    if audience == "reporter":
        if case_id is None:
            return Recipients()
        case = conn.execute(
            select(_CASE.c.anonymous, _CASE.c.reporter_id).where(_CASE.c.id == case_id)
        ).first()
        if case is None or case.anonymous or case.reporter_id is None:
            return Recipients()
        who = conn.execute(
            select(_REPORTER.c.email, _REPORTER.c.phone).where(_REPORTER.c.id == case.reporter_id)
        ).first()
        return Recipients() if who is None else _collect([(who.email, who.phone)])
    raise UnknownAudience(f"unknown audience '{audience}'")


# --- transports -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutgoingMessage:
    """What a transport sends: rendered text, never the addresses (those are passed alongside)."""

    notification_id: int
    subject: str
    text: str
    language: str
    date: datetime  # when the notification was written (kept the same on every retry)


class TransportError(Exception):
    """A send that did not go through; the text is recorded on the attempt (no addresses)."""


class Transport(Protocol):
    def send(self, message: OutgoingMessage, channel: str, to: Sequence[str]) -> str | None:
        """Deliver or raise :class:`TransportError`; may return a remark for the attempt row."""
        ...


class SmtpTransport:
    """Email through an SMTP server: one message per notification, every recipient in Bcc."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        *,
        sender: str,
        starttls: bool = False,
        timeout: float = 10,
    ) -> None:
        address = parseaddr(sender)[1]
        if "@" not in address:
            raise ValueError(f"the sender needs an email address, not '{sender}'")
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.sender = sender
        self.sender_address = address
        self.starttls = starttls
        self.timeout = timeout

    def __str__(self) -> str:
        tls = ", STARTTLS" if self.starttls else ""
        auth = f", as {self.username}" if self.username else ""
        return f"SMTP {self.host}:{self.port}{tls}{auth}, from {self.sender_address}"

    def message_id(self, notification_id: int) -> str:
        """The same on every try, so that a repeat after a crash can be recognised."""
        domain = self.sender_address.rpartition("@")[2]
        return f"<sop-notification-{notification_id}@{domain}>"

    def build(self, message: OutgoingMessage, to: Sequence[str]) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.sender
        mail["To"] = self.sender  # recipients do not see each other: they are all in Bcc
        mail["Bcc"] = ", ".join(to)
        mail["Date"] = format_datetime(message.date)
        mail["Message-ID"] = self.message_id(message.notification_id)
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.text)  # (this clears Content-* headers: add them after it)
        mail["Content-Language"] = message.language
        return mail

    def send(self, message: OutgoingMessage, channel: str, to: Sequence[str]) -> str | None:
        mail = self.build(message, to)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                # send_message drops the Bcc header from what it transmits.
                refused = smtp.send_message(mail, self.sender_address, list(to))
        except smtplib.SMTPRecipientsRefused as exc:
            raise TransportError(
                f"SMTP server refused all {len(exc.recipients)} recipients"
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raw = exc.smtp_error
            detail = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw)[:200]
            raise TransportError(f"SMTP error {exc.smtp_code}: {detail}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(
                f"SMTP {self.host}:{self.port}: {type(exc).__name__}: {exc}"
            ) from exc
        if refused:
            return f"{len(refused)} of {len(to)} recipients refused by the SMTP server"
        return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer that is not 2xx: a failure (a POST must not turn into a GET)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


class WebhookTransport:
    """Phone messages (SMS / WhatsApp) handed to an HTTP gateway as signed JSON."""

    def __init__(self, url: str, secret: str | None = None, timeout: float = 10) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the webhook URL must be http(s)://host/..., not '{url}'")
        self.url = url
        self.secret = secret
        self.timeout = timeout
        port = f":{parts.port}" if parts.port else ""
        self._where = f"{parts.scheme}://{parts.hostname}{port}"  # no path: it may hold a token
        self._opener = urllib.request.build_opener(_NoRedirect)

    def __str__(self) -> str:
        return f"webhook {self._where}{' (signed)' if self.secret else ''}"

    @staticmethod
    def body(message: OutgoingMessage, channel: str, to: Sequence[str]) -> bytes:
        payload = {
            "id": message.notification_id,
            "channel": channel,
            "to": list(to),
            "subject": message.subject,
            "text": message.text,
            "language": message.language,
        }
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @staticmethod
    def signature(secret: str, body: bytes) -> str:
        """``sha256=`` and the hex HMAC-SHA256 of the exact body bytes."""
        return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()

    def send(self, message: OutgoingMessage, channel: str, to: Sequence[str]) -> str | None:
        body = self.body(message, channel, to)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": f"sop-notification-{message.notification_id}",
            "User-Agent": "sop-platform-delivery",
        }
        if self.secret:
            headers["X-SOP-Signature"] = self.signature(self.secret, body)
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = int(response.status)
                reason = str(response.reason)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise TransportError(f"webhook answered HTTP {exc.code} {exc.reason}") from exc
        except OSError as exc:  # URLError, refused connections, timeouts
            reason_text = getattr(exc, "reason", exc)
            raise TransportError(f"webhook {self._where} unreachable: {reason_text}") from exc
        if not 200 <= status < 300:
            raise TransportError(f"webhook answered HTTP {status} {reason}")
        return None


class ConfigError(ValueError):
    pass


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class Transports:
    """The configured channels; ``None`` means that channel is unavailable."""

    email: Transport | None = None
    sms: Transport | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Transports:
        """Read ``SOP_SMTP_*`` and ``SOP_WEBHOOK_*`` (see docs/notifications.md)."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        email: Transport | None = None
        host = get("SOP_SMTP_HOST")
        if host:
            flag = (get("SOP_SMTP_STARTTLS") or "").lower()
            if flag not in _TRUE | _FALSE:
                raise ConfigError(f"SOP_SMTP_STARTTLS must be true or false, not '{flag}'")
            starttls = flag in _TRUE
            port_text = get("SOP_SMTP_PORT") or ("587" if starttls else "25")
            if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise ConfigError(f"SOP_SMTP_PORT must be a port number, not '{port_text}'")
            sender = get("SOP_SMTP_FROM")
            if not sender:
                raise ConfigError("SOP_SMTP_FROM (the sender address) is needed with SOP_SMTP_HOST")
            try:
                email = SmtpTransport(
                    host,
                    int(port_text),
                    get("SOP_SMTP_USER"),
                    env.get("SOP_SMTP_PASSWORD") or None,
                    sender=sender,
                    starttls=starttls,
                )
            except ValueError as err:
                raise ConfigError(f"SOP_SMTP_FROM: {err}") from err
        sms: Transport | None = None
        url = get("SOP_WEBHOOK_URL")
        if url:
            try:
                sms = WebhookTransport(url, env.get("SOP_WEBHOOK_SECRET") or None)
            except ValueError as err:
                raise ConfigError(f"SOP_WEBHOOK_URL: {err}") from err
        return cls(email=email, sms=sms)

    def describe(self) -> str:
        email = str(self.email) if self.email else "unavailable (SOP_SMTP_HOST unset)"
        sms = str(self.sms) if self.sms else "unavailable (SOP_WEBHOOK_URL unset)"
        return f"email: {email}; sms: {sms}"


# --- the worker -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A notification taken by one worker until ``lease_until``, ready to send."""

    id: int
    attempt: int  # this try's number (the notification's ``attempts`` after the claim)
    lease_until: datetime
    message: OutgoingMessage | None
    recipients: Recipients
    delivered: frozenset[str]  # channels that reached their recipients on an earlier try
    problem: str | None = None  # why it can never be sent (unknown kind or audience)


@dataclass(frozen=True)
class ChannelResult:
    channel: str
    recipients: int
    ok: bool
    error: str | None = None
    configured: bool = True


class Deliverer:
    """Delivers due notifications; several may run at once against the same database."""

    def __init__(
        self,
        engine: Engine,
        transports: Transports,
        clock: Clock,
        lease: timedelta = timedelta(minutes=5),
        max_attempts: int = 8,
    ) -> None:
        if lease <= timedelta(0):
            raise ValueError("the lease must be positive")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.engine = engine
        self.transports = transports
        self.clock = clock
        self.lease = lease
        self.max_attempts = max_attempts

    def deliver_due(self, limit: int = 50) -> int:
        """Claim up to ``limit`` due notifications, send them and record the outcome.

        Returns how many were handled (sent, rescheduled or given up on).
        """
        handled = 0
        for claim in self.claim(limit):
            if self.deliver(claim):
                handled += 1
        return handled

    # step 1 -------------------------------------------------------------------------------

    def claim(self, limit: int = 50) -> list[Claim]:
        """Take due notifications for ``lease`` and commit, before anything is sent."""
        now = self.clock.now()
        lease_until = now + self.lease
        query = (
            select(_N)
            .where(_N.c.status == "pending", _N.c.next_attempt_at <= now)
            .order_by(_N.c.next_attempt_at, _N.c.id)
            .limit(limit)
        )
        if not is_sqlite(self.engine):  # SQLite serialises writers with BEGIN IMMEDIATE instead
            query = query.with_for_update(skip_locked=True)
        with transaction(self.engine) as session:
            conn = session.connection()
            rows = conn.execute(query).all()
            abandoned = [r for r in rows if r.attempts >= self.max_attempts]
            taken = [r for r in rows if r.attempts < self.max_attempts]
            for row in abandoned:  # every try so far ended without an outcome (worker stopped)
                error = (
                    f"gave up after {row.attempts} tries: no outcome was recorded for the last "
                    "(the worker stopped while sending)"
                )
                conn.execute(
                    update(_N).where(_N.c.id == row.id).values(status="dead", last_error=error)
                )
                log.error("notification %s is dead: %s", row.id, error)
            if taken:
                conn.execute(
                    update(_N)
                    .where(_N.c.id.in_([r.id for r in taken]))
                    .values(attempts=_N.c.attempts + 1, next_attempt_at=lease_until)
                )
            return [self._prepare(conn, row, lease_until) for row in taken]

    def _prepare(self, conn: Connection, row: Row[Any], lease_until: datetime) -> Claim:
        attempt = row.attempts + 1
        delivered: frozenset[str] = frozenset()
        if row.attempts:
            delivered = frozenset(
                conn.execute(
                    select(_ATTEMPT.c.channel).where(
                        _ATTEMPT.c.notification_id == row.id, _ATTEMPT.c.ok.is_(True)
                    )
                ).scalars()
            )
        if row.kind not in TEMPLATES:
            problem = f"no template for notification kind '{row.kind}'"
            return Claim(row.id, attempt, lease_until, None, Recipients(), delivered, problem)
        try:
            recipients = recipients_for(
                conn,
                audience=row.audience,
                region=row.region_id,
                role=row.role,
                unit=row.unit_key,
                case_id=row.case_id,
            )
        except UnknownAudience as err:
            return Claim(row.id, attempt, lease_until, None, Recipients(), delivered, str(err))
        subject, text = render(row.kind, row.params or {}, row.language)
        message = OutgoingMessage(row.id, subject, text, row.language, row.created_at)
        return Claim(row.id, attempt, lease_until, message, recipients, delivered)

    # steps 2 and 3 ------------------------------------------------------------------------

    def deliver(self, claim: Claim) -> bool:
        """Send one claimed notification and record the outcome.

        Returns False, sending nothing, when less than a fifth of the lease is left (an earlier
        send of the batch was slow): another worker may take it over at any moment.
        """
        if self.clock.now() >= claim.lease_until - self.lease / 5:
            log.warning("notification %s: lease nearly over, left for a later pass", claim.id)
            return False
        results = self._send(claim)
        self._record(claim, results)
        return True

    def _send(self, claim: Claim) -> list[ChannelResult]:
        if claim.message is None:
            return []
        routes: tuple[tuple[str, tuple[str, ...], Transport | None, str], ...] = (
            (EMAIL, claim.recipients.emails, self.transports.email, "SOP_SMTP_HOST"),
            (SMS, claim.recipients.phones, self.transports.sms, "SOP_WEBHOOK_URL"),
        )
        results: list[ChannelResult] = []
        for channel, addresses, transport, variable in routes:
            if not addresses or channel in claim.delivered:
                continue
            if transport is None:
                error = f"{channel} channel unavailable ({variable} unset)"
                results.append(ChannelResult(channel, len(addresses), False, error, False))
                continue
            try:
                remark = transport.send(claim.message, channel, addresses)
            except TransportError as err:
                results.append(ChannelResult(channel, len(addresses), False, str(err)))
            except Exception as err:  # a transport bug must not stop the worker
                log.exception("notification %s: %s transport failed", claim.id, channel)
                error = f"{type(err).__name__}: {err}"
                results.append(ChannelResult(channel, len(addresses), False, error))
            else:
                results.append(ChannelResult(channel, len(addresses), True, remark))
        return results

    def _record(self, claim: Claim, results: list[ChannelResult]) -> None:
        now = self.clock.now()
        values: dict[str, Any]
        if claim.problem is not None:
            values = {"status": "dead", "last_error": claim.problem}
        elif claim.recipients.empty and not claim.delivered:
            results = [ChannelResult(NONE_CHANNEL, 0, True, NO_RECIPIENTS)]
            values = {"status": "sent", "sent_at": now, "last_error": None}
        else:
            failed = [r for r in results if not r.ok and r.configured]
            reached = bool(claim.delivered) or any(r.ok for r in results)
            errors = "; ".join(f"{r.channel}: {r.error}" for r in results if not r.ok) or None
            if reached and not failed:  # an unavailable channel is on its attempt row only
                values = {"status": "sent", "sent_at": now, "last_error": None}
            elif claim.attempt >= self.max_attempts:
                values = {"status": "dead", "last_error": errors}
            else:
                retry_at = now + backoff(claim.attempt)
                values = {"next_attempt_at": retry_at, "last_error": errors}
        with transaction(self.engine) as session:
            conn = session.connection()
            if results:
                conn.execute(
                    insert(_ATTEMPT),
                    [
                        {
                            "notification_id": claim.id,
                            "at": now,
                            "channel": r.channel,
                            "recipients": r.recipients,
                            "ok": r.ok,
                            "error": r.error,
                        }
                        for r in results
                    ],
                )
            # Only if no other worker took it over since our claim (its try would be counted).
            changed = conn.execute(
                update(_N)
                .where(
                    _N.c.id == claim.id,
                    _N.c.status == "pending",
                    _N.c.attempts == claim.attempt,
                )
                .values(**values)
            ).rowcount
        status = values.get("status", "pending")
        if not changed:
            log.warning(
                "notification %s was taken over by another worker; kept its state", claim.id
            )
        elif status == "dead":
            log.error("notification %s is dead: %s", claim.id, values["last_error"])
        elif status == "pending":
            log.info(
                "notification %s: try %s failed (%s); next try at %s",
                claim.id,
                claim.attempt,
                values["last_error"],
                values["next_attempt_at"],
            )
        else:
            log.info("notification %s sent", claim.id)


def run_forever(
    deliverer: Deliverer,
    interval: float = 1.0,
    stop: threading.Event | None = None,
    limit: int = 50,
    heartbeat: Heartbeat | None = None,
) -> None:
    """Deliver until ``stop`` is set: at once again after a full batch, else every ``interval`` s.

    A failing pass (the database away, say) is logged and tried again; it does not end the loop.
    After each pass the ``heartbeat`` (if any) records that the worker is alive.
    """
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            handled = deliverer.deliver_due(limit)
            if heartbeat is not None:
                heartbeat.beat()
        except Exception as err:
            log.exception("delivery pass failed; trying again in %s s", interval)
            handled = 0
            if heartbeat is not None:
                heartbeat.beat(ok=False, error=repr(err))
        if handled < limit:
            stop.wait(interval)


# --- the `sop deliver` command ----------------------------------------------------------------


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``deliver`` to the ``sop`` command's sub-commands."""
    p = subparsers.add_parser(
        "deliver",
        help="send pending notifications (email via SMTP, SMS via webhook); see "
        "docs/notifications.md",
    )
    p.add_argument(
        "--once", action="store_true", help="deliver what is due now, then exit (for cron)"
    )
    p.add_argument(
        "--interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how often to look for due notifications (default: 1)",
    )
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    """Run the delivery worker, configured from the environment."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from sop_platform import config as settings
    from sop_platform.db import database_url, make_engine
    from sop_platform.telemetry import configure_logging

    try:
        cfg = settings.load()
    except settings.ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not logging.getLogger().handlers:
        configure_logging(cfg.log_format, cfg.log_level)
    if args.interval <= 0:
        print("error: --interval must be positive", file=sys.stderr)
        return 2
    try:
        transports = Transports.from_env()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    url = database_url()
    engine = make_engine(url)
    deliverer = Deliverer(engine, transports, SystemClock())
    where = make_url(url).render_as_string(hide_password=True)
    print(f"delivering notifications from {where} — {transports.describe()}", flush=True)
    try:
        if args.once:
            total = 0
            while handled := deliverer.deliver_due():
                total += handled
            print(f"{total} notification{'s' if total != 1 else ''} handled")
            return 0
        stop = threading.Event()
        _stop_on_signals(stop)
        run_forever(deliverer, args.interval, stop, heartbeat=Heartbeat(engine, "delivery"))
        return 0
    except SQLAlchemyError as err:
        print(f"error: database: {err}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def _stop_on_signals(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current pass", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
