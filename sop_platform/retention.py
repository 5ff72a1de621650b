"""The retention job: closed cases past their SOP's retention period lose their personal data.

UU 27/2022 (Pelindungan Data Pribadi) keeps personal data only as long as its purpose needs.
Each SOP says for how long after closing (``retention: 2 tahun``). Past that, this job erases,
case by case in its own transaction:

* the reporter row (name, NIK, e-mail, phone, other identity) and the case's link to it;
* the report's text, and of the case's fields and the history's entries every value of a text
  or date field (``jawaban``, ``alasan``, ``catatan``, ``laporan`` included) plus the free-text
  notes, reasons and instructions of interventions, pauses and progress reports;
* the hash of the submission (it was computed over the reporter's identity);
* the attachments: their files and rows;
* the comment of the reporter's rating (the score stays);
* what an API client sent with the report about the person: location, address, media link,
  device and account ids (the Open311 token that finds the case stays).

It leaves what the conformance figures are made of: steps, visits with their times, deadlines,
breaches and outcomes, unit, channel, status, the case's times and the fields that hold a
choice, a number, a yes/no or a unit (the category that routed the case). Each case is marked
(``personal_data_erased_at``), so a second run finds nothing to do. Every run that erased
something adds one entry per region to the audit log.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update
from sqlmodel import SQLModel

from rules.loader import BUILTIN_FIELDS
from rules.model import FieldType, Sop
from sop_platform.db import transaction
from sop_platform.models import (
    Attachment,
    AuditEntry,
    CaseEvent,
    CaseRow,
    Reporter,
    ServiceRequestRow,
)
from sop_platform.registry import Registry
from sop_platform.timekeeping import Clock

log = logging.getLogger(__name__)

_CASE = CaseRow.__table__  # type: ignore[attr-defined]
_EVENT = CaseEvent.__table__  # type: ignore[attr-defined]
_REPORTER = Reporter.__table__  # type: ignore[attr-defined]
_ATTACHMENT = Attachment.__table__  # type: ignore[attr-defined]
_SERVICE_REQUEST = ServiceRequestRow.__table__  # type: ignore[attr-defined]
# What a report brought through the APIs that points at a person: where they were, their
# device, their account with the client, the media they linked. The Open311 token stays.
SERVICE_REQUEST_PERSONAL = (
    "lat",
    "long",
    "address",
    "address_id",
    "media_url",
    "device_id",
    "account_id",
)

# Field types whose values are categories the conformance figures group by: kept.
KEPT_TYPES = frozenset({FieldType.choice, FieldType.number, FieldType.boolean, FieldType.unit})
# Free text in an event's payload besides its entries.
FREE_TEXT_KEYS = ("note", "instruction", "comment")
ACTOR_NAME = "Sistem (retensi data pribadi)"
SCAN_SLACK = timedelta(days=4)  # months are up to 3 days longer than 28 days; see candidates()


@dataclass(frozen=True)
class Erased:
    case_id: int
    tracking_number: str
    region: str
    sop_id: str
    closed_at: datetime
    expired_at: datetime
    files: int = 0


@dataclass
class RetentionResult:
    erased: list[Erased] = field(default_factory=list)
    dry_run: bool = False

    @property
    def count(self) -> int:
        return len(self.erased)


def kept(sop: Sop, name: str) -> bool:
    """Whether a field's or entry's value survives erasure."""
    spec = sop.fields.get(name) or BUILTIN_FIELDS.get(name)
    return spec is not None and spec.type in KEPT_TYPES


def scrub_values(sop: Sop, values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if kept(sop, k)}


def scrub_payload(sop: Sop, kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(payload)
    for key in ("fields", "entries"):
        if isinstance(out.get(key), dict):
            out[key] = scrub_values(sop, out[key])
    for key in FREE_TEXT_KEYS:
        out.pop(key, None)
    # A pause's reason is one of the step's declared reason ids (a category); elsewhere it is
    # free text written about the case.
    if kind not in ("pause", "resume"):
        out.pop("reason", None)
    return out


class RetentionJob:
    """Finds and erases expired personal data on one database."""

    def __init__(
        self,
        engine: Engine,
        registry: Registry,
        clock: Clock,
        uploads_dir: Path | None = None,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.clock = clock
        self.uploads_dir = uploads_dir

    def candidates(self, now: datetime) -> list[Erased]:
        """Closed cases whose personal data has expired and is still there."""
        with transaction(self.engine) as session:
            conn = session.connection()
            hashes = conn.execute(
                select(_CASE.c.content_hash)
                .where(_CASE.c.closed_at.is_not(None), _CASE.c.personal_data_erased_at.is_(None))
                .distinct()
            ).all()
            out: list[Erased] = []
            for (content_hash,) in hashes:
                sop = self.registry.by_hash(content_hash, conn=conn).sop
                if sop.retention is None:
                    continue
                period = sop.retention
                # An index-friendly bound a little too wide; the exact calendar test follows.
                bound = now - timedelta(days=28 * period.months + period.days) + SCAN_SLACK
                rows = conn.execute(
                    select(
                        _CASE.c.id, _CASE.c.tracking_number, _CASE.c.region_id, _CASE.c.closed_at
                    )
                    .where(
                        _CASE.c.content_hash == content_hash,
                        _CASE.c.closed_at.is_not(None),
                        _CASE.c.closed_at <= bound,
                        _CASE.c.personal_data_erased_at.is_(None),
                    )
                    .order_by(_CASE.c.id)
                ).all()
                for case_id, tracking, region, closed_at in rows:
                    expires = period.expires(closed_at)
                    if expires <= now:
                        out.append(Erased(case_id, tracking, region, sop.sop, closed_at, expires))
        return sorted(out, key=lambda e: e.case_id)

    def run(self, *, dry_run: bool = False) -> RetentionResult:
        now = self.clock.now()
        found = self.candidates(now)
        if dry_run:
            return RetentionResult(found, dry_run=True)
        done: list[Erased] = []
        for item in found:
            erased = self._erase(item, now)
            if erased is not None:
                done.append(erased)
        if done:
            self._audit(done, now)
        return RetentionResult(done)

    def _erase(self, item: Erased, now: datetime) -> Erased | None:
        files: list[str] = []
        with transaction(self.engine) as session:
            conn = session.connection()
            query = select(
                _CASE.c.content_hash,
                _CASE.c.reporter_id,
                _CASE.c.fields,
                _CASE.c.personal_data_erased_at,
            ).where(_CASE.c.id == item.case_id)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            row = conn.execute(query).first()
            if row is None or row.personal_data_erased_at is not None:
                return None  # erased meanwhile by another run
            sop = self.registry.by_hash(row.content_hash, conn=conn).sop
            conn.execute(
                update(_CASE)
                .where(_CASE.c.id == item.case_id)
                .values(
                    text="",
                    fields=scrub_values(sop, row.fields or {}),
                    reporter_id=None,
                    request_hash=None,
                    personal_data_erased_at=now,
                )
            )
            if row.reporter_id is not None:
                conn.execute(delete(_REPORTER).where(_REPORTER.c.id == row.reporter_id))
            for event_id, kind, payload in conn.execute(
                select(_EVENT.c.id, _EVENT.c.kind, _EVENT.c.payload).where(
                    _EVENT.c.case_id == item.case_id
                )
            ).all():
                cleaned = scrub_payload(sop, kind, payload or {})
                if cleaned != payload:
                    conn.execute(
                        update(_EVENT).where(_EVENT.c.id == event_id).values(payload=cleaned)
                    )
            files = list(
                conn.execute(
                    select(_ATTACHMENT.c.storage_path).where(_ATTACHMENT.c.case_id == item.case_id)
                ).scalars()
            )
            conn.execute(delete(_ATTACHMENT).where(_ATTACHMENT.c.case_id == item.case_id))
            _clear_rating_comment(conn, item.case_id)
            conn.execute(
                update(_SERVICE_REQUEST)
                .where(_SERVICE_REQUEST.c.case_id == item.case_id)
                .values({name: None for name in SERVICE_REQUEST_PERSONAL})
            )
        # Files go after the commit: a failed transaction must not have removed them. A file
        # left behind by a crash here has no row any more and is never listed or served.
        removed = self._remove_files(files)
        return Erased(
            item.case_id,
            item.tracking_number,
            item.region,
            item.sop_id,
            item.closed_at,
            item.expired_at,
            removed,
        )

    def _remove_files(self, relative_paths: list[str]) -> int:
        if self.uploads_dir is None:
            if relative_paths:
                log.warning(
                    "%d attachment files not removed: no uploads directory given",
                    len(relative_paths),
                )
            return 0
        root = self.uploads_dir.resolve()
        removed = 0
        for relative in relative_paths:
            path = (root / relative).resolve()
            if root in path.parents and path.is_file():
                path.unlink()
                removed += 1
        return removed

    def _audit(self, done: list[Erased], now: datetime) -> None:
        by_region: dict[str, list[Erased]] = {}
        for item in done:
            by_region.setdefault(item.region, []).append(item)
        with transaction(self.engine) as session:
            for region, items in sorted(by_region.items()):
                session.add(
                    AuditEntry(
                        at=now,
                        region_id=region,
                        actor_user_id=None,
                        actor_name=ACTOR_NAME,
                        action="retention.erase",
                        target=f"cases:{len(items)}",
                        before=None,
                        after={"cases": [i.tracking_number for i in items]},
                    )
                )


def _clear_rating_comment(conn: Connection, case_id: int) -> None:
    # The rating table belongs to the feedback feature; it may not exist in every deployment.
    table = SQLModel.metadata.tables.get("citizen_rating")
    if table is not None and "comment" in table.c:
        conn.execute(update(table).where(table.c.case_id == case_id).values(comment=None))


def run_forever(job: RetentionJob, stop: threading.Event, interval: float = 3600.0) -> None:
    """Run the job every ``interval`` seconds until ``stop`` is set (errors are logged)."""
    while not stop.is_set():
        try:
            result = job.run()
            if result.count:
                log.info("retention: personal data of %d closed cases erased", result.count)
        except Exception:
            log.exception("retention run failed")
        stop.wait(interval)


# --- the command -----------------------------------------------------------------------------


def cmd_retention(args: argparse.Namespace) -> int:
    from sop_platform import definitions
    from sop_platform.db import make_engine
    from sop_platform.timekeeping import SystemClock

    catalog = definitions.load(None)
    if not catalog.ok:
        for problem in catalog.problems:
            print(problem)
        return 1
    engine = make_engine()
    # The same directory the application stores photos in (SOP_UPLOADS, see the README).
    uploads = Path(args.uploads or os.environ.get("SOP_UPLOADS", "").strip() or ".sop-uploads")
    job = RetentionJob(engine, Registry(engine, catalog), SystemClock(), uploads)
    result = job.run(dry_run=args.dry_run)
    verb = "would erase" if result.dry_run else "erased"
    for item in result.erased:
        files = "" if result.dry_run else f", {item.files} files"
        print(
            f"{verb} {item.tracking_number} ({item.sop_id}, closed {item.closed_at:%Y-%m-%d}, "
            f"expired {item.expired_at:%Y-%m-%d}{files})"
        )
    print(f"{result.count} case{'s' if result.count != 1 else ''} {verb}")
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "retention",
        help="erase the personal data of closed cases past their SOP's retention period",
    )
    p.add_argument("--dry-run", action="store_true", help="only list what would be erased")
    p.add_argument(
        "--uploads",
        metavar="DIR",
        help="the attachments' directory (default: SOP_UPLOADS, else ./.sop-uploads)",
    )
    p.set_defaults(func=cmd_retention)
