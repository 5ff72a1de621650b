"""A region administrator's changes — users, role grants, units, SOP versions — each written
together with its audit-log entry in one transaction.

Scope. An administrator (platform role ``admin_daerah``) manages one region:

* a user belongs to a region's administration when every one of their grants is in that region;
  a user holding roles in several regions is managed by the platform operator (``sop user``),
  so no regional administrator can lock someone out of another region;
* roles granted are the staff roles of the region's SOPs and the platform roles; a unit-staff
  role needs an active unit of the region, any other role takes none;
* units are declared in the region file (``region.yaml``), which is where the regional decree
  lists them: the administrator may activate or deactivate a unit and keep its contact data,
  but not add one, because a unit that exists only in the database would be unknown to the
  SOPs' routing and to ``sop validate``. A deactivated unit is offered for no new grant.
* an SOP version may be withdrawn from new cases and published again; cases already on it keep
  running on it.

Every refusal raises :class:`AdminError` (in Bahasa Indonesia and English) and writes nothing.
The audit log records who (account and name at the time), when, what (a verb such as
``user.create``), the target, and the state before and after; never a password or its hash.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from rules.model import RoleKind
from sop_platform import apikeys
from sop_platform.accounts import hash_password
from sop_platform.cases import Actor
from sop_platform.db import transaction
from sop_platform.models import AuditEntry, RoleGrant, SopDefinitionRow, UnitRow, UserAccount
from sop_platform.registry import Registry
from sop_platform.roles import ADMIN_DAERAH, PLATFORM_ROLES, holds

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,99}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{5,30}$")


class AdminError(ValueError):
    """A change the administrator may not make, with the reason in both languages."""

    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message = message
        self.message_en = message_en


class NotInRegion(AdminError):
    """The target is not in the administrator's region (shown as 'not found')."""


@dataclass(frozen=True)
class Change:
    """Who changes what, where: the administrator, the region, the moment, the request."""

    actor: Actor
    region: str
    now: datetime
    request_id: str | None = None


@dataclass(frozen=True)
class GrantView:
    role: str
    unit: str | None


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    full_name: str
    email: str | None
    phone: str | None
    active: bool
    grants: tuple[GrantView, ...]


@dataclass(frozen=True)
class RoleChoice:
    role: str
    title: str
    kind: RoleKind | None  # None for a platform role

    @property
    def needs_unit(self) -> bool:
        return self.kind is RoleKind.unit_staff


# --- checks --------------------------------------------------------------------------------


def require_admin(actor: Actor, region: str) -> None:
    if not holds(actor, ADMIN_DAERAH, region):
        raise NotInRegion(
            f"Anda bukan administrator daerah '{region}'.",
            f"You are not the administrator of region '{region}'.",
        )


def role_choices(registry: Registry, region: str) -> dict[str, RoleChoice]:
    """The roles an administrator of ``region`` may grant."""
    out: dict[str, RoleChoice] = {}
    for loaded in registry.catalog.latest().values():
        if loaded.sop.region != region:
            continue
        for rid, role in loaded.sop.roles.items():
            if role.kind in (RoleKind.unit_staff, RoleKind.region_staff) and rid not in out:
                out[rid] = RoleChoice(rid, role.title or rid, role.kind)
    for rid, title in PLATFORM_ROLES.items():
        out[rid] = RoleChoice(rid, title, None)
    return dict(sorted(out.items()))


def _check_grant(
    session: Session, registry: Registry, region: str, role: str, unit: str | None
) -> None:
    choices = role_choices(registry, region)
    if role not in choices:
        raise AdminError(
            f"Peran '{role}' tidak dikenal di daerah ini.", f"Unknown role '{role}' in this region."
        )
    if choices[role].needs_unit:
        if not unit:
            raise AdminError(
                f"Peran '{role}' memerlukan perangkat daerah.", f"Role '{role}' needs a unit."
            )
        found = session.exec(
            select(UnitRow).where(UnitRow.region_id == region, UnitRow.key == unit)
        ).first()
        if found is None:
            raise AdminError(
                f"Perangkat daerah '{unit}' tidak ada di daerah ini.",
                f"Unit '{unit}' does not exist in this region.",
            )
        if not found.active:
            raise AdminError(
                f"Perangkat daerah '{unit}' tidak aktif.", f"Unit '{unit}' is not active."
            )
    elif unit:
        raise AdminError(
            f"Peran '{role}' tidak terikat pada perangkat daerah.",
            f"Role '{role}' is not tied to a unit.",
        )


def _check_contact(email: str | None, phone: str | None) -> None:
    if email and not EMAIL_RE.match(email):
        raise AdminError(f"Alamat e-mail '{email}' tidak sah.", f"'{email}' is not an e-mail.")
    if phone and not PHONE_RE.match(phone):
        raise AdminError(f"Nomor telepon '{phone}' tidak sah.", f"'{phone}' is not a phone number.")


def _blank(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


# --- the audit log -------------------------------------------------------------------------


def record(
    session: Session,
    change: Change,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Add the audit entry to the caller's transaction (committed with the change or not at
    all)."""
    session.add(
        AuditEntry(
            at=change.now,
            region_id=change.region,
            actor_user_id=change.actor.user_id,
            actor_name=change.actor.name,
            action=action,
            target=target,
            before=before,
            after=after,
            request_id=change.request_id,
        )
    )


def _grants_of(session: Session, user_id: int) -> list[RoleGrant]:
    return list(
        session.exec(
            select(RoleGrant)
            .where(RoleGrant.user_id == user_id)
            .order_by(col(RoleGrant.role), col(RoleGrant.unit_key))
        )
    )


def _user_state(user: UserAccount, grants: Iterable[RoleGrant]) -> dict[str, Any]:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "phone": user.phone,
        "active": user.active,
        "grants": [f"{g.role}:{g.unit_key}" if g.unit_key else g.role for g in grants],
    }


def _user_in_region(session: Session, region: str, user_id: int) -> UserAccount:
    user = session.get(UserAccount, user_id)
    grants = _grants_of(session, user_id) if user is not None else []
    if user is None or not grants or any(g.region_id != region for g in grants):
        raise NotInRegion("Pengguna tidak ditemukan di daerah ini.", "No such user in this region.")
    return user


# --- users ---------------------------------------------------------------------------------


def users(engine: Engine, actor: Actor, region: str) -> list[UserView]:
    """The region's users: everyone whose grants are all in this region."""
    require_admin(actor, region)
    with transaction(engine) as session:
        grants = list(session.exec(select(RoleGrant)))
        by_user: dict[int, list[RoleGrant]] = {}
        for g in grants:
            by_user.setdefault(g.user_id, []).append(g)
        mine = [uid for uid, gs in by_user.items() if all(g.region_id == region for g in gs) and gs]
        if not mine:
            return []
        rows = session.exec(
            select(UserAccount)
            .where(col(UserAccount.id).in_(mine))
            .order_by(col(UserAccount.username))
        ).all()
        return [
            UserView(
                id=u.id or 0,
                username=u.username,
                full_name=u.full_name,
                email=u.email,
                phone=u.phone,
                active=u.active,
                grants=tuple(
                    GrantView(g.role, g.unit_key)
                    for g in sorted(by_user[u.id or 0], key=lambda g: (g.role, g.unit_key or ""))
                ),
            )
            for u in rows
        ]


def user(engine: Engine, actor: Actor, region: str, user_id: int) -> UserView:
    for found in users(engine, actor, region):
        if found.id == user_id:
            return found
    raise NotInRegion("Pengguna tidak ditemukan di daerah ini.", "No such user in this region.")


def create_user(
    engine: Engine,
    registry: Registry,
    change: Change,
    username: str,
    full_name: str,
    grants: Sequence[tuple[str, str | None]],
    email: str | None = None,
    phone: str | None = None,
) -> tuple[int, str]:
    """A new account with its first roles; returns its id and the generated password (shown
    once, never stored in clear)."""
    require_admin(change.actor, change.region)
    username = username.strip().lower()
    full_name = full_name.strip()
    email, phone = _blank(email), _blank(phone)
    if not USERNAME_RE.match(username):
        raise AdminError(
            "Nama pengguna: 3–100 huruf kecil, angka, titik, garis bawah atau tanda hubung.",
            "Username: 3-100 lower-case letters, digits, dots, underscores or hyphens.",
        )
    if not full_name:
        raise AdminError("Nama lengkap wajib diisi.", "The full name is required.")
    if not grants:
        raise AdminError("Berikan sedikitnya satu peran.", "Grant at least one role.")
    _check_contact(email, phone)
    password = secrets.token_urlsafe(12)
    with transaction(engine) as session:
        taken = session.exec(select(UserAccount).where(UserAccount.username == username)).first()
        if taken is not None:
            raise AdminError(
                f"Nama pengguna '{username}' sudah dipakai.", f"Username '{username}' is taken."
            )
        for role, unit in grants:
            _check_grant(session, registry, change.region, role, _blank(unit))
        account = UserAccount(
            username=username,
            full_name=full_name,
            password_hash=hash_password(password),
            email=email,
            phone=phone,
            created_at=change.now,
        )
        session.add(account)
        session.flush()
        assert account.id is not None
        rows = [
            RoleGrant(user_id=account.id, region_id=change.region, role=r, unit_key=_blank(u))
            for r, u in dict.fromkeys((r, _blank(u)) for r, u in grants)
        ]
        session.add_all(rows)
        session.flush()
        record(
            session,
            change,
            "user.create",
            f"user:{username}",
            None,
            _user_state(account, rows),
        )
        return account.id, password


def set_active(engine: Engine, change: Change, user_id: int, active: bool) -> None:
    """Disable (or enable again) an account; a disabled account's sessions end at once."""
    require_admin(change.actor, change.region)
    if not active and user_id == change.actor.user_id:
        raise AdminError(
            "Anda tidak dapat menonaktifkan akun Anda sendiri.", "You cannot disable yourself."
        )
    with transaction(engine) as session:
        account = _user_in_region(session, change.region, user_id)
        if account.active == active:
            return  # nothing changes, nothing is recorded
        account.active = active
        session.add(account)
        record(
            session,
            change,
            "user.enable" if active else "user.disable",
            f"user:{account.username}",
            {"active": not active},
            {"active": active},
        )


def reset_password(engine: Engine, change: Change, user_id: int) -> str:
    """A new generated password (shown once); the old one stops working."""
    require_admin(change.actor, change.region)
    password = secrets.token_urlsafe(12)
    with transaction(engine) as session:
        account = _user_in_region(session, change.region, user_id)
        account.password_hash = hash_password(password)
        session.add(account)
        record(session, change, "user.reset_password", f"user:{account.username}", None, None)
    return password


def grant_role(
    engine: Engine, registry: Registry, change: Change, user_id: int, role: str, unit: str | None
) -> None:
    require_admin(change.actor, change.region)
    unit = _blank(unit)
    with transaction(engine) as session:
        account = _user_in_region(session, change.region, user_id)
        _check_grant(session, registry, change.region, role, unit)
        before = _grants_of(session, user_id)
        if any(g.role == role and g.unit_key == unit for g in before):
            raise AdminError("Peran itu sudah diberikan.", "That role is already granted.")
        state_before = _user_state(account, before)["grants"]
        session.add(RoleGrant(user_id=user_id, region_id=change.region, role=role, unit_key=unit))
        session.flush()
        after = _user_state(account, _grants_of(session, user_id))["grants"]
        record(
            session,
            change,
            "role.grant",
            f"user:{account.username}",
            {"grants": state_before},
            {"grants": after},
        )


def revoke_role(engine: Engine, change: Change, user_id: int, role: str, unit: str | None) -> None:
    require_admin(change.actor, change.region)
    unit = _blank(unit)
    with transaction(engine) as session:
        account = _user_in_region(session, change.region, user_id)
        before = _grants_of(session, user_id)
        target = [g for g in before if g.role == role and g.unit_key == unit]
        if not target:
            raise AdminError("Peran itu tidak dimiliki.", "The user does not hold that role.")
        if len(before) == 1:
            # A user without grants would fall out of every region's administration.
            raise AdminError(
                "Peran terakhir tidak dapat dicabut; nonaktifkan akunnya.",
                "The last role cannot be revoked; disable the account instead.",
            )
        if role == ADMIN_DAERAH and user_id == change.actor.user_id:
            raise AdminError(
                "Anda tidak dapat mencabut peran administrator Anda sendiri.",
                "You cannot revoke your own administrator role.",
            )
        state_before = _user_state(account, before)["grants"]
        session.delete(target[0])
        session.flush()
        after = _user_state(account, _grants_of(session, user_id))["grants"]
        record(
            session,
            change,
            "role.revoke",
            f"user:{account.username}",
            {"grants": state_before},
            {"grants": after},
        )


# --- units ---------------------------------------------------------------------------------


def units(engine: Engine, actor: Actor, region: str) -> list[UnitRow]:
    require_admin(actor, region)
    with transaction(engine) as session:
        return list(
            session.exec(
                select(UnitRow).where(UnitRow.region_id == region).order_by(col(UnitRow.key))
            )
        )


def _unit(session: Session, region: str, key: str) -> UnitRow:
    found = session.exec(
        select(UnitRow).where(UnitRow.region_id == region, UnitRow.key == key)
    ).first()
    if found is None:
        raise NotInRegion(
            "Perangkat daerah tidak ditemukan di daerah ini.", "No such unit in this region."
        )
    return found


def set_unit_active(engine: Engine, change: Change, key: str, active: bool) -> None:
    require_admin(change.actor, change.region)
    with transaction(engine) as session:
        unit = _unit(session, change.region, key)
        if unit.active == active:
            return
        unit.active = active
        session.add(unit)
        record(
            session,
            change,
            "unit.activate" if active else "unit.deactivate",
            f"unit:{key}",
            {"active": not active},
            {"active": active},
        )


def set_unit_contact(
    engine: Engine, change: Change, key: str, email: str | None, phone: str | None
) -> None:
    require_admin(change.actor, change.region)
    email, phone = _blank(email), _blank(phone)
    _check_contact(email, phone)
    with transaction(engine) as session:
        unit = _unit(session, change.region, key)
        before = {"contact_email": unit.contact_email, "contact_phone": unit.contact_phone}
        after = {"contact_email": email, "contact_phone": phone}
        if before == after:
            return
        unit.contact_email, unit.contact_phone = email, phone
        session.add(unit)
        record(session, change, "unit.contact", f"unit:{key}", before, after)


# --- SOP versions --------------------------------------------------------------------------


def sop_versions(engine: Engine, actor: Actor, region: str) -> list[SopDefinitionRow]:
    require_admin(actor, region)
    with transaction(engine) as session:
        return list(
            session.exec(
                select(SopDefinitionRow)
                .where(SopDefinitionRow.region_id == region)
                .order_by(col(SopDefinitionRow.sop_id), col(SopDefinitionRow.version))
            )
        )


def set_published(
    engine: Engine,
    registry: Registry,
    change: Change,
    sop_id: str,
    version: str,
    published: bool,
) -> None:
    """Withdraw a version from new cases, or publish it again. Cases on it keep running."""
    require_admin(change.actor, change.region)
    with transaction(engine) as session:
        row = session.exec(
            select(SopDefinitionRow).where(
                SopDefinitionRow.sop_id == sop_id,
                SopDefinitionRow.version == version,
                SopDefinitionRow.region_id == change.region,
            )
        ).first()
        if row is None:
            raise NotInRegion(
                "Versi SOP tidak ditemukan di daerah ini.", "No such SOP version in this region."
            )
        if (row.withdrawn_at is None) == published:
            return
        before = {"withdrawn_at": row.withdrawn_at.isoformat() if row.withdrawn_at else None}
        row.withdrawn_at = None if published else change.now
        session.add(row)
        after = {"withdrawn_at": row.withdrawn_at.isoformat() if row.withdrawn_at else None}
        record(
            session,
            change,
            "sop.publish" if published else "sop.withdraw",
            f"sop:{sop_id}@{version}",
            before,
            after,
        )
    registry.forget_latest()


# --- API keys (made by sop_platform.apikeys; audited here, in the same transaction) ---------


def api_keys(engine: Engine, actor: Actor, region: str) -> list[apikeys.ApiKeyInfo]:
    require_admin(actor, region)
    return apikeys.list_keys(engine, region)


def _key_state(info: apikeys.ApiKeyInfo) -> dict[str, Any]:
    return {"name": info.name, "roles": list(info.roles), "unit": info.unit}


def create_api_key(
    engine: Engine,
    registry: Registry,
    change: Change,
    name: str,
    roles: Sequence[str],
    unit: str | None,
) -> apikeys.NewApiKey:
    """A key of the administrator's region; the plain key is returned once and never stored."""
    require_admin(change.actor, change.region)

    def audit(session: Session, info: apikeys.ApiKeyInfo) -> None:
        record(session, change, "apikey.create", f"apikey:{info.prefix}", None, _key_state(info))

    try:
        return apikeys.create(
            engine,
            registry.catalog,
            name=name,
            region=change.region,
            roles=[r for r in roles if r],
            unit=_blank(unit),
            now=change.now,
            created_by=change.actor.name,
            audit=audit,
        )
    except apikeys.ApiKeyError as err:
        raise AdminError(str(err), str(err)) from None


def revoke_api_key(engine: Engine, change: Change, prefix: str) -> None:
    require_admin(change.actor, change.region)

    def audit(session: Session, info: apikeys.ApiKeyInfo) -> None:
        record(
            session,
            change,
            "apikey.revoke",
            f"apikey:{info.prefix}",
            {"revoked_at": None},
            {"revoked_at": info.revoked_at.isoformat() if info.revoked_at else None},
        )

    try:
        apikeys.revoke(engine, prefix, change.now, region=change.region, audit=audit)
    except apikeys.ApiKeyError:
        raise NotInRegion(
            "Kunci API tidak ditemukan di daerah ini.", "No such API key in this region."
        ) from None


# --- browsing and exporting the log --------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None  # a verb (user.create) or its prefix (user.)
    actor: str | None = None  # part of the actor's name
    target: str | None = None  # part of the target
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditEntry]
    next_after: int | None  # the id to continue after (newest first), if there is more


def _filtered(region: str, filters: AuditFilter) -> Any:
    query = select(AuditEntry).where(AuditEntry.region_id == region)
    if filters.action:
        if filters.action.endswith("."):
            query = query.where(col(AuditEntry.action).startswith(filters.action))
        else:
            query = query.where(AuditEntry.action == filters.action)
    if filters.actor:
        query = query.where(
            func.lower(AuditEntry.actor_name).contains(filters.actor.lower(), autoescape=True)
        )
    if filters.target:
        query = query.where(
            func.lower(AuditEntry.target).contains(filters.target.lower(), autoescape=True)
        )
    if filters.since:
        query = query.where(AuditEntry.at >= filters.since)
    if filters.until:
        query = query.where(AuditEntry.at < filters.until)
    return query


def audit_page(
    engine: Engine,
    actor: Actor,
    region: str,
    filters: AuditFilter = AuditFilter(),
    after: int | None = None,
    limit: int = 50,
) -> AuditPage:
    """Newest first, ``limit`` at a time; a page starts after the id the previous one ended
    with (a keyset page: no OFFSET, so later entries never shift what a page shows)."""
    require_admin(actor, region)
    query = _filtered(region, filters)
    if after is not None:
        query = query.where(col(AuditEntry.id) < after)
    query = query.order_by(col(AuditEntry.id).desc()).limit(limit + 1)
    with transaction(engine) as session:
        rows = list(session.exec(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(rows, rows[-1].id if more and rows else None)


CSV_COLUMNS = (
    "id",
    "at",
    "region_id",
    "actor_user_id",
    "actor_name",
    "action",
    "target",
    "before",
    "after",
    "request_id",
)


def _json(value: dict[str, Any] | None) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _cell(text: str) -> str:
    # A cell starting with = + - @ would be run as a formula by a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def audit_csv(
    engine: Engine, actor: Actor, region: str, filters: AuditFilter = AuditFilter()
) -> Iterable[str]:
    """The filtered log as CSV (oldest first), produced in batches of 500 rows."""
    require_admin(actor, region)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    last = 0
    while True:
        query = (
            _filtered(region, filters)
            .where(col(AuditEntry.id) > last)
            .order_by(col(AuditEntry.id))
            .limit(500)
        )
        with transaction(engine) as session:
            rows = list(session.exec(query))
        if not rows:
            return
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for e in rows:
            writer.writerow(
                [
                    e.id,
                    e.at.isoformat(),
                    e.region_id,
                    "" if e.actor_user_id is None else e.actor_user_id,
                    _cell(e.actor_name),
                    e.action,
                    _cell(e.target),
                    _json(e.before),
                    _json(e.after),
                    e.request_id or "",
                ]
            )
        yield buffer.getvalue()
        last = rows[-1].id or last
