"""API keys: created (the key shown once), listed, revoked, and turned into the engine's Actor.

A key reads ``sop_<prefix>_<secret>``: the prefix (8 hex characters) is stored in the clear to
find the key and to name it in lists and logs; the whole key is stored only as a SHA-256 hash.
The secret has 256 random bits, so a fast hash is enough — nobody can guess their way to a
preimage — and checking a key costs microseconds, not the 50 ms of a password hash (argon2 is
for passwords, which people choose and which are short).

A key belongs to one region and holds some of its roles (and, for unit-staff roles, one unit):
it acts exactly as a person with those grants would (:meth:`Actor.roles_for`). A key without
roles may only submit reports on behalf of citizens (a city's mobile app, an Open311 client).
Of the platform roles a key may hold only ``kepatuhan`` (reading conformance reports), never
``admin_daerah``.

The functions are plain so that the command line and the administration pages share them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from rules.loader import Catalog
from rules.model import PLATFORM_ROLE_IDS, RoleKind
from sop_platform.cases import Actor, Grant
from sop_platform.db import transaction
from sop_platform.models import ApiKey, RegionRow
from sop_platform.roles import KEPATUHAN

KEY_RE = re.compile(r"^sop_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")
# ``last_used_at`` is written at most this often per key, so busy clients cost no write each call.
TOUCH_EVERY = timedelta(minutes=1)
_KEYS = ApiKey.__table__  # type: ignore[attr-defined]


class ApiKeyError(ValueError):
    """A key that cannot be created or revoked as asked; the message says why."""


@dataclass(frozen=True)
class NewApiKey:
    """A key just created: ``key`` is the only time the key itself is seen."""

    id: int
    prefix: str
    key: str


@dataclass(frozen=True)
class ApiKeyInfo:
    """A key as lists show it (never the key or its hash)."""

    id: int
    prefix: str
    name: str
    region: str
    roles: tuple[str, ...]
    unit: str | None
    created_at: datetime
    created_by: str | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _info(row: ApiKey) -> ApiKeyInfo:
    assert row.id is not None
    return ApiKeyInfo(
        id=row.id,
        prefix=row.prefix,
        name=row.name,
        region=row.region_id,
        roles=tuple(row.roles),
        unit=row.unit_key,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def region_roles(catalog: Catalog, region: str) -> dict[str, RoleKind]:
    """The roles the region's SOPs declare (any version), with their kinds."""
    out: dict[str, RoleKind] = {}
    for loaded in catalog.sops.values():
        if loaded.sop.region == region:
            for rid, role in loaded.sop.roles.items():
                out.setdefault(rid, role.kind)
    return out


def check_grants(
    catalog: Catalog, region: str, roles: Sequence[str], unit: str | None
) -> list[str]:
    """Every problem with giving a key these roles (empty: fine)."""
    problems: list[str] = []
    if region not in catalog.regions:
        known = ", ".join(sorted(catalog.regions))
        return [f"unknown region '{region}' (regions: {known})"]
    kinds = region_roles(catalog, region)
    for role in roles:
        if role == KEPATUHAN:
            continue  # reads the region's conformance reports (a dashboard, an auditor's tool)
        if role in PLATFORM_ROLE_IDS:
            problems.append(
                f"'{role}' is a platform role; of these a key may hold only {KEPATUHAN}"
            )
        elif role not in kinds:
            known = ", ".join(sorted(kinds))
            problems.append(f"unknown role '{role}' in {region} (roles: {known})")
        elif kinds[role] is RoleKind.citizen:
            problems.append(f"'{role}' is the citizen's role; a key without roles submits reports")
    unit_roles = [r for r in roles if kinds.get(r) is RoleKind.unit_staff]
    if unit is not None and unit not in catalog.regions[region].units:
        known = ", ".join(sorted(catalog.regions[region].units))
        problems.append(f"unknown unit '{unit}' in {region} (units: {known})")
    if unit_roles and unit is None:
        problems.append(f"unit-staff roles ({', '.join(unit_roles)}) need --unit")
    return problems


def create(
    engine: Engine,
    catalog: Catalog,
    *,
    name: str,
    region: str,
    roles: Sequence[str] = (),
    unit: str | None = None,
    now: datetime,
    created_by: str | None = None,
    audit: Callable[[Session, ApiKeyInfo], None] | None = None,
) -> NewApiKey:
    """Make a key; the returned ``key`` is shown once and never stored.

    ``audit`` is called inside the creating transaction (the administration pages write their
    audit entry there, so that the key and its entry are committed together or not at all).
    """
    name = name.strip()
    roles = sorted(set(roles))
    problems = check_grants(catalog, region, roles, unit)
    if not name:
        problems.insert(0, "give the key a name (who uses it)")
    elif len(name) > 200:
        problems.insert(0, "the name has more than 200 characters")
    if problems:
        raise ApiKeyError("; ".join(problems))
    with transaction(engine) as session:
        if session.get(RegionRow, region) is None:
            raise ApiKeyError(f"region '{region}' is not in the database: run `sop publish`")
        while True:
            prefix = secrets.token_hex(4)
            taken = session.exec(select(ApiKey.id).where(ApiKey.prefix == prefix)).first()
            if taken is None:
                break
        key = f"sop_{prefix}_{secrets.token_urlsafe(32)}"
        row = ApiKey(
            prefix=prefix,
            secret_hash=hash_key(key),
            name=name,
            region_id=region,
            roles=list(roles),
            unit_key=unit,
            created_at=now,
            created_by=created_by,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        if audit is not None:
            audit(session, _info(row))
        return NewApiKey(row.id, prefix, key)


def list_keys(engine: Engine, region: str | None = None) -> list[ApiKeyInfo]:
    """Every key (of one region, if given), newest first, revoked ones included."""
    with transaction(engine) as session:
        query = select(ApiKey).order_by(col(ApiKey.id).desc())
        if region is not None:
            query = query.where(ApiKey.region_id == region)
        return [_info(row) for row in session.exec(query).all()]


def revoke(
    engine: Engine,
    prefix: str,
    now: datetime,
    region: str | None = None,
    audit: Callable[[Session, ApiKeyInfo], None] | None = None,
) -> ApiKeyInfo:
    """Revoke the key with this prefix (or the whole key); it stops working at once.

    ``region`` limits the search to one region's keys (an administrator of one region revokes
    only that region's). Revoking a revoked key changes nothing.
    """
    match = KEY_RE.match(prefix.strip())
    wanted = match.group(1) if match else prefix.strip()
    with transaction(engine) as session:
        row = session.exec(select(ApiKey).where(ApiKey.prefix == wanted)).first()
        if row is None or (region is not None and row.region_id != region):
            raise ApiKeyError(f"no API key with prefix '{wanted}'")
        if row.revoked_at is None:
            row.revoked_at = now
            session.add(row)
            session.flush()
            if audit is not None:  # in the same transaction; only when something changed
                audit(session, _info(row))
        return _info(row)


@dataclass(frozen=True)
class KeyActor:
    """Who an API key acts as, and the key it is."""

    actor: Actor
    key: ApiKeyInfo


def authenticate(engine: Engine, key: str, now: datetime) -> KeyActor | None:
    """The actor of a valid, unrevoked key; ``None`` for anything else (never says why)."""
    match = KEY_RE.match(key.strip())
    if match is None:
        return None
    with transaction(engine) as session:
        row = session.exec(select(ApiKey).where(ApiKey.prefix == match.group(1))).first()
        if row is None or not hmac.compare_digest(row.secret_hash, hash_key(key.strip())):
            return None
        if row.revoked_at is not None:
            return None
        if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
            session.connection().execute(
                update(_KEYS).where(_KEYS.c.id == row.id).values(last_used_at=now)
            )
        info = _info(row)
    grants = tuple(Grant(info.region, role, info.unit) for role in info.roles)
    return KeyActor(Actor(f"API: {info.name} ({info.prefix})", grants), info)
