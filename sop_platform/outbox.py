"""The notifications outbox: what to tell whom, written in the same transaction as the change.

A notification names an *audience* — the staff holding a role (in one unit, for unit staff) or the
case's reporter — not addresses: addresses are looked up when it is delivered (after commit, by
``sop_platform.delivery``), so personal data stays in its own tables. A ``dedupe_key`` makes each
happening notify once even if the writer runs twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from sop_platform.models import Notification

_TABLE = Notification.__table__  # type: ignore[attr-defined]
_INSERT = insert(_TABLE)

# kind -> (Bahasa Indonesia, English): (subject, body). Parameters are filled with str.format.
TEMPLATES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "assignment": (
        (
            "Tugas baru: {tracking} — {step_title}",
            "Kasus {tracking} ({sop_title}) kini menunggu Anda pada tahap "
            '"{step_title}".{due_text_id}',
        ),
        (
            "New task: {tracking} — {step_title}",
            'Case {tracking} ({sop_title}) now waits for you at step "{step_title}".{due_text_en}',
        ),
    ),
    "warning": (
        (
            "Peringatan batas waktu: {tracking}",
            'Kasus {tracking} pada tahap "{step_title}" telah memakai {percent}% waktunya; '
            "batas waktu {due_local}.",
        ),
        (
            "Deadline warning: {tracking}",
            'Case {tracking} at step "{step_title}" has used {percent}% of its time; '
            "due {due_local}.",
        ),
    ),
    "breach": (
        (
            "Batas waktu terlampaui: {tracking}",
            'Kasus {tracking} pada tahap "{step_title}" melewati batas waktu {limit} '
            "({due_local}).",
        ),
        (
            "Deadline missed: {tracking}",
            'Case {tracking} at step "{step_title}" missed its {limit} limit ({due_local}).',
        ),
    ),
    "escalation": (
        (
            "Eskalasi tingkat {level}: {tracking}",
            'Kasus {tracking} ({sop_title}) terlambat pada tahap "{step_title}" di {unit_name}; '
            "batas waktu {due_local}. Kasus ini masuk ke antrean eskalasi Anda.",
        ),
        (
            "Escalation level {level}: {tracking}",
            'Case {tracking} ({sop_title}) is late at step "{step_title}" in {unit_name}; '
            "due {due_local}. It is in your escalation queue.",
        ),
    ),
    "status": (
        (
            "Perkembangan laporan {tracking}",
            "Laporan Anda {tracking} kini berstatus: {status_id} ({step_title}).",
        ),
        (
            "Update on report {tracking}",
            "Your report {tracking} is now: {status_en} ({step_title}).",
        ),
    ),
    "intervention": (
        (
            "Intervensi pada kasus {tracking}",
            "{actor} melakukan intervensi ({what}) pada kasus {tracking}: {reason}",
        ),
        (
            "Intervention on case {tracking}",
            "{actor} intervened ({what}) in case {tracking}: {reason}",
        ),
    ),
    "obligation_missed": (
        (
            "Kewajiban tidak dipenuhi: {obligation_title}",
            '{unit_name} belum memenuhi kewajiban "{obligation_title}" yang jatuh tempo '
            "{due_local}.",
        ),
        (
            "Obligation missed: {obligation_title}",
            '{unit_name} has not met the obligation "{obligation_title}" due {due_local}.',
        ),
    ),
}

STATUS_WORDS = {
    "open": ("sedang diproses", "in progress"),
    "waiting": ("menunggu", "waiting"),
    "done": ("selesai", "done"),
    "rejected": ("ditolak/ditutup", "rejected/closed"),
    "cancelled": ("dibatalkan", "cancelled"),
}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "-"


def render(kind: str, params: Mapping[str, Any], language: str = "id") -> tuple[str, str]:
    """Subject and body of a notification in Bahasa Indonesia (``id``) or English (``en``)."""
    indonesian, english = TEMPLATES[kind]
    subject, body = english if language == "en" else indonesian
    values = _Blank(params)
    return subject.format_map(values), body.format_map(values)


def row(
    *,
    now: datetime,
    region: str,
    kind: str,
    audience: str,
    params: Mapping[str, Any],
    role: str | None = None,
    unit: str | None = None,
    case_id: int | None = None,
    dedupe_key: str | None = None,
) -> dict[str, Any]:
    """One outbox row, ready to insert."""
    if kind not in TEMPLATES:
        raise ValueError(f"no template for notification kind '{kind}'")
    return {
        "created_at": now,
        "region_id": region,
        "case_id": case_id,
        "kind": kind,
        "audience": audience,
        "role": role,
        "unit_key": unit,
        "params": dict(params),
        "language": "id",
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "sent_at": None,
        "dedupe_key": dedupe_key,
    }


def write(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert outbox rows (one statement for all of them)."""
    if rows:
        conn.execute(_INSERT, rows)


def enqueue(
    conn: Connection,
    *,
    now: datetime,
    region: str,
    kind: str,
    audience: str,
    params: Mapping[str, Any],
    role: str | None = None,
    unit: str | None = None,
    case_id: int | None = None,
    dedupe_key: str | None = None,
    language: str = "id",
) -> int | None:
    """Add one notification to the outbox inside the caller's transaction; return its id, or
    ``None`` when a notification with the same ``dedupe_key`` already exists (never an error:
    a concurrent duplicate must not roll back the change it reports)."""
    values = row(
        now=now,
        region=region,
        kind=kind,
        audience=audience,
        params=params,
        role=role,
        unit=unit,
        case_id=case_id,
        dedupe_key=dedupe_key,
    )
    values["language"] = language
    dialect = conn.dialect.name
    if dedupe_key is not None and dialect in ("postgresql", "sqlite"):
        insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = (
            insert_(_TABLE)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(_TABLE.c.id)
        )
        found: int | None = conn.execute(stmt).scalar_one_or_none()
        return found
    new_id: int = conn.execute(insert(_TABLE).values(**values).returning(_TABLE.c.id)).scalar_one()
    return new_id
