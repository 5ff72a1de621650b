"""Demo data: the seed SOPs, their regions' units, and one login per staff role (the SOPs'
roles and the platform's: compliance officer, region administrator).

Every demo account has the same password, printed by ``sop demo``; they are for trying the
platform out, never for production.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import select

from rules.loader import Catalog
from rules.model import RoleKind
from sop_platform.accounts import add_user
from sop_platform.db import transaction
from sop_platform.demo_history import build_history
from sop_platform.engine import Grant
from sop_platform.migrate import upgrade
from sop_platform.models import UserAccount
from sop_platform.obligations import start_clocks
from sop_platform.registry import Registry
from sop_platform.roles import PLATFORM_ROLES

DEMO_PASSWORD = "demo-sop-2025"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    region: str
    role: str
    title: str
    unit: str | None
    created: bool


def staff_roles(catalog: Catalog, region: str) -> dict[str, tuple[RoleKind, str]]:
    """Every non-citizen role used by the region's SOPs, with its kind and title."""
    out: dict[str, tuple[RoleKind, str]] = {}
    for loaded in catalog.latest().values():
        if loaded.sop.region != region:
            continue
        for rid, role in loaded.sop.roles.items():
            if role.kind is not RoleKind.citizen and rid not in out:
                out[rid] = (role.kind, role.title or rid)
    return out


def demo_unit(catalog: Catalog, region: str) -> str | None:
    """The unit demo unit-staff work for: the one the region's SOPs route to most often."""
    counts: dict[str, int] = {}
    for loaded in catalog.latest().values():
        if loaded.sop.region == region:
            for rule in loaded.sop.routing:
                counts[rule.unit] = counts.get(rule.unit, 0) + 1
    units = list(catalog.regions[region].units)
    if counts:
        return max(sorted(counts), key=lambda u: counts[u])
    return units[0] if units else None


def set_up(
    engine: Engine, catalog: Catalog, now: datetime, *, history: bool = False
) -> tuple[Registry, list[DemoLogin]]:
    """Migrate, publish every SOP version, and create the demo logins (idempotent). With
    ``history``, also the demo cases of the past weeks (:mod:`sop_platform.demo_history`),
    written once."""
    upgrade(engine)
    registry = Registry(engine, catalog)
    registry.publish(now)
    if history:
        # before the obligation clocks start now: the history starts them weeks ago
        build_history(engine, registry, now)
    start_clocks(engine, registry, now)
    logins: list[DemoLogin] = []
    with transaction(engine) as session:
        existing = set(session.exec(select(UserAccount.username)).all())
    for region in sorted(catalog.regions):
        unit = demo_unit(catalog, region)
        roles: list[tuple[str, str, str | None]] = [
            (role, title, unit if kind is RoleKind.unit_staff else None)
            for role, (kind, title) in sorted(staff_roles(catalog, region).items())
        ]
        roles += [(role, title, None) for role, title in PLATFORM_ROLES.items()]
        for role, title, scoped in roles:
            username = f"{region}.{role}"
            created = username not in existing
            if created:
                add_user(
                    engine,
                    username,
                    f"{title} (demo)",
                    DEMO_PASSWORD,
                    [Grant(region, role, scoped)],
                    now,
                )
            logins.append(DemoLogin(username, DEMO_PASSWORD, region, role, title, scoped, created))
    return registry, logins
