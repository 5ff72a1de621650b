"""The SOP definition model: regions and SOPs as frozen, validated objects.

This is the one neutral model between the YAML files and everything else: the loader fills it,
the validator checks it as a whole, the compiler and the engine read it. Nothing here knows about
YAML, databases or HTTP. Field names are the YAML keys an SOP author writes.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from rules import expr as ex
from rules.limits import ACCEPTED_FORMS, Clock, Limit, LimitError, parse_limit
from rules.retention import RETENTION_FORMS, Retention, RetentionError, parse_retention

IDENT = r"^[a-z][a-z0-9_]*$"
Ident = Annotated[str, Field(pattern=IDENT)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _limit(value: Any) -> Any:
    if isinstance(value, Limit | dict):
        return value
    try:
        return parse_limit(value)
    except LimitError as exc:
        raise ValueError(str(exc)) from None


def _delay(value: Any) -> Any:
    if isinstance(value, Limit | dict):
        return value
    try:
        return parse_limit(value, allow_zero=True)
    except LimitError as exc:
        raise ValueError(str(exc)) from None


def _condition(value: Any) -> Any:
    if value is None or isinstance(value, ex.Cmp | ex.In | ex.And | ex.Or):
        return value
    try:
        return ex.parse(value)
    except ex.ExprError as exc:
        raise ValueError(
            f"cannot read the condition: {exc} (at character {exc.offset + 1})"
        ) from None


def _retention(value: Any) -> Any:
    if isinstance(value, Retention | dict):
        return value
    try:
        return parse_retention(value)
    except RetentionError as exc:
        raise ValueError(str(exc)) from None


def _text_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


LimitText = Annotated[
    Limit,
    BeforeValidator(_limit),
    WithJsonSchema({"type": "string", "description": f"A time limit, e.g. {ACCEPTED_FORMS}"}),
]
DelayText = Annotated[
    Limit,
    BeforeValidator(_delay),
    WithJsonSchema({"type": "string", "description": "A delay, e.g. '0 menit', '4 jam', '1 hari'"}),
]
Condition = Annotated[
    Any,
    BeforeValidator(_condition),
    WithJsonSchema(
        {"type": "string", "description": 'A condition, e.g. "jenis in [pertanyaan, saran]"'}
    ),
]
RetentionText = Annotated[
    Retention,
    BeforeValidator(_retention),
    WithJsonSchema(
        {"type": "string", "description": f"A retention period, e.g. {RETENTION_FORMS}"}
    ),
]
TextList = Annotated[list[str], BeforeValidator(_text_list)]
RoleRefs = Annotated[list[Ident], BeforeValidator(_text_list)]


class RoleKind(StrEnum):
    citizen = "citizen"  # a member of the public (pelapor / masyarakat)
    unit_staff = "unit_staff"  # staff of one perangkat daerah: sees that unit's cases
    region_staff = "region_staff"  # staff of the region as a whole (admin pusat, kepala daerah)
    external = "external"  # outside the region's system (Admin Nasional, a vendor); acts via API


# Roles of the platform itself (compliance officer, region administrator): never an SOP's role.
# ``sop_platform.roles`` says what each one opens.
PLATFORM_ROLE_IDS = ("kepatuhan", "admin_daerah")


class StatusType(StrEnum):
    """The fixed set of case statuses every SOP step maps onto (reports depend on these only)."""

    open = "open"
    waiting = "waiting"  # waiting on the citizen or an outside party
    done = "done"
    rejected = "rejected"
    cancelled = "cancelled"


TERMINAL_STATUSES = frozenset({StatusType.done, StatusType.rejected, StatusType.cancelled})


class FieldType(StrEnum):
    text = "text"
    choice = "choice"
    number = "number"
    boolean = "boolean"
    unit = "unit"  # a perangkat daerah of the region, by its id
    date = "date"


class Role(_Frozen):
    kind: RoleKind
    title: str | None = None
    description: str | None = None


class CaseField(_Frozen):
    """A named value on a case, filled at submission or by an action, usable in conditions."""

    type: FieldType = FieldType.text
    label: str | None = None
    options: list[str | int] = Field(default_factory=list)
    required: bool = Field(False, description="Must be given when the case is submitted.")
    max_length: int | None = Field(None, description="For text: longest accepted value.")


class Document(_Frozen):
    """The identity block of the official SOP sheet; optional where the paper is blank."""

    number: str | None = Field(None, description="Nomor SOP / nomor keputusan.")
    kind: str | None = Field(None, description="E.g. Keputusan Walikota, SOP Dinas.")
    issued_by: str | None = None
    approved_by: str | None = Field(None, description="Disahkan oleh.")
    created_on: str | None = Field(None, description="Tanggal pembuatan.")
    revised_on: str | None = Field(None, description="Tanggal revisi.")
    approved_on: str | None = Field(None, description="Tanggal pengesahan / penetapan.")
    effective_on: str | None = Field(None, description="Tanggal efektif.")
    annex: str | None = Field(None, description="Lampiran.")
    section: str | None = Field(None, description="Unit that owns the SOP (seksi/bidang).")


class Submission(_Frozen):
    """How cases arrive: the first row of the SOP table, done by the reporter."""

    by: Ident = Field(
        description="The role that submits (a citizen role, or staff such as Call Taker)."
    )
    title: str = "Menyampaikan laporan"
    number: str | None = None
    channels: list[Ident] = Field(default_factory=list)
    anonymous_allowed: bool = True
    confidential_allowed: bool = True
    identity_any_of: list[Ident] = Field(
        default_factory=list,
        description="Identity the reporter must give, at least one of (e.g. email, telepon, nik).",
    )
    limit: LimitText | None = Field(
        None, description="Time the reporter's own step takes (table only)."
    )
    completeness: TextList = Field(default_factory=list)
    output: str | None = None
    note: str | None = None


class Branch(_Frozen):
    when: Condition | None = None
    otherwise: bool = False
    to: Ident
    label: str | None = None


class Action(_Frozen):
    """Something a role may do at a step: move the case, decide between branches, or record."""

    label: str | None = None
    by: RoleRefs = Field(default_factory=list, description="Roles allowed; default: the step's.")
    to: Ident | None = None
    branches: list[Branch] = Field(default_factory=list)
    when: Condition | None = Field(None, description="The action is offered only when this holds.")
    requires: list[Ident] = Field(default_factory=list, description="Fields the actor must fill.")
    accepts: list[Ident] = Field(
        default_factory=list, description="Fields the actor may fill (optional entries)."
    )
    reroute: bool = Field(False, description="The actor chooses the unit (field 'unit').")
    report_to: RoleRefs = Field(
        default_factory=list, description="A progress report to these roles; the case stays."
    )
    stay: bool = Field(False, description="Recorded on the case without moving it.")
    note: str | None = None


class Step(_Frozen):
    title: str
    number: str | None = Field(None, description="Row number in the document (may repeat).")
    by: Ident | None = Field(None, description="The responsible role (Pelaksana).")
    informs: RoleRefs = Field(default_factory=list, description="Roles the case reaches at once.")
    limit: LimitText | None = None
    clock: Clock | None = Field(None, description="calendar, office_hours or working_days.")
    completeness: TextList = Field(default_factory=list, description="Mutu Baku: kelengkapan.")
    output: str | None = Field(None, description="Mutu Baku: output.")
    note: str | None = None
    status: StatusType = StatusType.open
    actions: dict[Ident, Action] = Field(default_factory=dict)
    outside_system: bool = Field(
        False, description="Done in another system (e.g. national LAPOR!); arrives by API."
    )
    pauses: dict[Ident, str] = Field(
        default_factory=dict,
        description="Reasons the step's clock may stop (id: label), e.g. waiting for documents.",
    )

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def effective_clock(self) -> Clock:
        if self.clock is not None:
            return self.clock
        return self.limit.default_clock() if self.limit else Clock.calendar


def _percent(value: Any) -> Any:
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1])
        except ValueError:
            raise ValueError(f"write a share of the limit as e.g. '80%', not '{value}'") from None
    return value


Percent = Annotated[
    float,
    BeforeValidator(_percent),
    Field(gt=0, lt=100),
    WithJsonSchema({"type": "string", "description": 'A share of the limit, e.g. "80%"'}),
]


class Rung(_Frozen):
    """One rung of the escalation ladder: who is told, how long after the deadline."""

    after: DelayText = Field(description="Time after the deadline, e.g. '0 menit', '1 jam'.")
    to: RoleRefs = Field(description="Roles that receive the escalation in their queue.")
    label: str | None = None


class Escalation(_Frozen):
    """A region's escalation policy for one SOP (opt-in): warnings before, a ladder after."""

    warn_at: list[Percent] = Field(
        default_factory=list, description="Warn the responsible role at these shares of the limit."
    )
    ladder: list[Rung] = Field(default_factory=list)
    note: str | None = None


class Interventions(_Frozen):
    """Who may intervene in a case (re-assign, force a step, add an instruction)."""

    by: RoleRefs = Field(description="Roles allowed to intervene, always with a reason.")
    note: str | None = None


class Route(_Frozen):
    """Automatic assignment of the responsible unit when a case is submitted."""

    when: Condition | None = None
    otherwise: bool = False
    unit: Ident


class Obligation(_Frozen):
    """A recurring duty not tied to a case (JSS IV: each unit refreshes its data weekly)."""

    title: str
    by: Ident
    every: LimitText
    per_unit: bool = True
    escalate_to: RoleRefs = Field(default_factory=list)
    output: str | None = None
    note: str | None = None


class Sop(_Frozen):
    """One standard operating procedure, as published in one version."""

    sop: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$")]
    version: str
    region: Ident
    title: str
    summary: str | None = None
    document: Document = Field(default_factory=Document)
    legal_basis: TextList = Field(default_factory=list, description="Dasar hukum.")
    qualifications: TextList = Field(default_factory=list, description="Kualifikasi pelaksana.")
    related: TextList = Field(default_factory=list, description="Keterkaitan.")
    equipment: TextList = Field(default_factory=list, description="Peralatan/perlengkapan.")
    warnings: TextList = Field(default_factory=list, description="Peringatan.")
    records: TextList = Field(default_factory=list, description="Pencatatan dan pendataan.")
    total_limit: LimitText | None = Field(
        None, description="Declared total of the step times (e.g. Bantul: 1060 menit)."
    )
    submission: Submission
    fields: dict[Ident, CaseField] = Field(default_factory=dict)
    roles: dict[Ident, Role]
    routing: list[Route] = Field(default_factory=list)
    start: Ident
    steps: dict[Ident, Step]
    obligations: dict[Ident, Obligation] = Field(default_factory=dict)
    escalation: Escalation | None = None
    interventions: Interventions | None = None
    retention: RetentionText | None = Field(
        None,
        description="How long after closing a case keeps its personal data (UU 27/2022); "
        "then the retention job erases it. None: kept until an operator decides.",
    )

    def domains(self, unit_ids: list[str] | None = None) -> dict[str, ex.Domain]:
        """Value domains of the declared fields, for the static checks on conditions."""
        out: dict[str, ex.Domain] = {}
        for name, f in self.fields.items():
            if f.type is FieldType.choice:
                out[name] = ex.Domain("choice", tuple(f.options))
            elif f.type is FieldType.boolean:
                out[name] = ex.Domain("boolean")
            elif f.type is FieldType.number:
                out[name] = ex.Domain("number")
            elif f.type is FieldType.unit and unit_ids is not None:
                out[name] = ex.Domain("choice", tuple(unit_ids))
            else:
                out[name] = ex.Domain("text")
        return out

    def action_roles(self, step: Step, action: Action) -> list[str]:
        if action.by:
            return list(action.by)
        return [step.by] if step.by else []


WEEKDAYS = ("senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu")
Weekday = Annotated[str, Field(pattern="^(" + "|".join(WEEKDAYS) + ")$")]
_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"


class OfficeHours(_Frozen):
    start: Annotated[str, Field(pattern=_HHMM)] = "08:00"
    end: Annotated[str, Field(pattern=_HHMM)] = "16:00"


class DatedName(_Frozen):
    date: Annotated[str, Field(pattern=_DATE)]
    name: str


class YearCorrection(_Frozen):
    """The government's decree for one year: dates to add (cuti bersama) and estimates to drop."""

    add: list[DatedName] = Field(default_factory=list)
    remove: list[Annotated[str, Field(pattern=_DATE)]] = Field(default_factory=list)
    source: str | None = Field(None, description="The SKB / decree the dates come from.")


class Calendar(_Frozen):
    timezone: str = "Asia/Jakarta"
    work_week: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]))
    office_hours: OfficeHours = Field(default_factory=OfficeHours)
    office_hours_by_day: dict[Weekday, OfficeHours] = Field(default_factory=dict)
    local_holidays: list[DatedName] = Field(default_factory=list)
    corrections: dict[int, YearCorrection] = Field(default_factory=dict)


class UnitDef(_Frozen):
    """A perangkat daerah (OPD) or work unit."""

    code: str
    name: str
    head_title: str | None = None


class Channel(_Frozen):
    title: str
    note: str | None = None


class Region(_Frozen):
    """A regional government: its units, working calendar and intake channels."""

    region: Ident
    name: str
    level: Annotated[str, Field(pattern="^(kota|kabupaten|provinsi)$")]
    demo_units: bool = Field(
        False, description="The units listed are demonstration data, not the region's real list."
    )
    calendar: Calendar = Field(default_factory=Calendar)
    units: dict[Ident, UnitDef] = Field(default_factory=dict)
    channels: dict[Ident, Channel] = Field(default_factory=dict)


def weekday_index(name: str) -> int:
    return WEEKDAYS.index(name)


def is_ident(text: str) -> bool:
    return re.match(IDENT, text) is not None
