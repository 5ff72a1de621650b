"""What the JSON API takes and gives, as msgspec Structs (they are also its OpenAPI schemas).

Inputs forbid unknown fields and bound every text, so a typo or an oversized value is a 400
that names the field, never something silently dropped or stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

MAX_TEXT = 20_000  # the engine's own limit for a report's text
MAX_ENTRY = 10_000
MAX_FIELDS = 50

Ident = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[a-z][a-z0-9_-]*$")]
ShortText = Annotated[str, Meta(max_length=200)]
Value = str | int | float | bool
InValue = Annotated[str, Meta(max_length=MAX_ENTRY)] | int | float | bool
Values = Annotated[dict[Ident, InValue], Meta(max_length=MAX_FIELDS)]
Status = Literal["open", "waiting", "done", "rejected", "cancelled"]


class _In(Struct, forbid_unknown_fields=True, kw_only=True):
    """An input: unknown fields are refused."""


# --- catalog ---------------------------------------------------------------------------------


class UnitOut(Struct, kw_only=True):
    key: str
    code: str
    name: str


class RegionOut(Struct, kw_only=True):
    id: str
    name: str
    level: str
    timezone: str


class FieldOut(Struct, kw_only=True):
    name: str
    type: str
    label: str | None
    required: bool
    options: list[str | int]
    max_length: int | None
    at_submission: bool  # filled by the reporter (not asked of staff by an action)


class SopOut(Struct, kw_only=True):
    id: str
    version: str
    region: str
    title: str
    summary: str | None
    submitted_by: str
    citizen: bool  # reports come from the public (no key needed to submit)
    channels: list[str]
    anonymous_allowed: bool
    confidential_allowed: bool
    identity_any_of: list[str]
    fields: list[FieldOut]
    steps: list[str]


# --- cases -----------------------------------------------------------------------------------


class ReporterIn(_In):
    name: Annotated[str, Meta(max_length=200)] | None = None
    nik: Annotated[str, Meta(max_length=32)] | None = None
    email: Annotated[str, Meta(max_length=200)] | None = None
    phone: Annotated[str, Meta(max_length=50)] | None = None
    extra: Annotated[dict[Ident, Annotated[str, Meta(max_length=200)]], Meta(max_length=10)] = {}


class LocationIn(_In):
    lat: Annotated[float, Meta(ge=-90, le=90)] | None = None
    long: Annotated[float, Meta(ge=-180, le=180)] | None = None
    address: Annotated[str, Meta(max_length=500)] | None = None
    address_id: Annotated[str, Meta(max_length=100)] | None = None


class SubmissionIn(_In):
    """A new report. Send an ``Idempotency-Key`` header so that a retry makes no second case."""

    sop: Ident
    text: Annotated[str, Meta(min_length=1, max_length=MAX_TEXT)]
    channel: Ident | None = None
    fields: Values = {}
    reporter: ReporterIn | None = None
    anonymous: bool = False
    confidential: bool = False
    location: LocationIn | None = None
    media_url: Annotated[str, Meta(max_length=2000, pattern=r"^https?://[^\s]+$")] | None = None


class ReceiptOut(Struct, kw_only=True):
    id: int
    tracking_number: str
    status: str
    step: str
    created_at: datetime


class LocationOut(Struct, kw_only=True):
    lat: float | None
    long: float | None
    address: str | None
    address_id: str | None


class ReporterOut(Struct, kw_only=True):
    name: str | None
    nik: str | None
    email: str | None
    phone: str | None
    extra: dict[str, str]


class CaseOut(Struct, kw_only=True):
    id: int
    tracking_number: str
    region: str
    sop: str
    sop_version: str
    step: str
    step_title: str
    status: str
    unit: str | None
    unit_name: str | None
    channel: str
    text: str
    fields: dict[str, Value]
    anonymous: bool
    confidential: bool
    revision: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    due_at: datetime | None
    paused: bool
    reporter: ReporterOut | None  # none for anonymous and confidential reports
    location: LocationOut | None
    media_url: str | None


class CaseSummary(Struct, kw_only=True):
    id: int
    tracking_number: str
    region: str
    sop: str
    step: str
    status: str
    unit: str | None
    created_at: datetime
    updated_at: datetime


class CasePage(Struct, kw_only=True):
    items: list[CaseSummary]
    next: int | None  # pass as ``after`` for the next page; none on the last


class EventOut(Struct, kw_only=True):
    seq: int
    at: datetime
    kind: str
    actor: str
    role: str | None
    action: str | None
    from_step: str | None
    to_step: str | None
    unit: str | None
    entries: dict[str, Value]
    note: str | None


class VisitOut(Struct, kw_only=True):
    step: str
    role: str | None
    unit: str | None
    entered_at: datetime
    left_at: datetime | None
    due_at: datetime | None
    limit: str | None
    clock: str | None
    outcome: str | None


class HistoryOut(Struct, kw_only=True):
    events: list[EventOut]
    visits: list[VisitOut]


class OfferOut(Struct, kw_only=True):
    action: str
    label: str
    requires: list[str]
    accepts: list[str]
    reroute: bool
    moves: bool


class ActionIn(_In):
    """One action on a case. ``revision`` (from the case as you read it) turns a lost update
    into a 409 when someone acted first."""

    action: Ident
    entries: Values = {}
    revision: Annotated[int, Meta(ge=1, le=2_147_483_647)] | None = None


# --- tracking --------------------------------------------------------------------------------


class TrackDetail(Struct, kw_only=True):
    label: str
    value: str


class TrackEvent(Struct, kw_only=True):
    when: str  # local time as the region reads it, e.g. "24/11/2025 11:00 WIB"
    title: str
    by: str
    step: str
    details: list[TrackDetail]


class TrackOut(Struct, kw_only=True):
    """What anyone holding the tracking number may read: no names, no reporter data."""

    tracking_number: str
    sop: str
    sop_title: str
    region: str
    status: str
    step: str
    step_title: str
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None
    events: list[TrackEvent]


# Inputs by their schema names (the OpenAPI document marks them as taking no other fields).
INPUTS = tuple(t.__name__ for t in (SubmissionIn, ReporterIn, LocationIn, ActionIn))
