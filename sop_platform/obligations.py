"""Recurring obligations (JSS IV: each unit refreshes its published data at least weekly).

Each obligation of a published SOP gets a clock per unit (or one for the region): it is due
``every`` after the last fulfilment. Recording a fulfilment restarts it; the sweeper records a
miss when it runs out, tells the unit and the roles the SOP escalates to, and starts the next
period, so a unit that stays silent is reported every period.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from rules.model import RoleKind
from sop_platform.db import transaction
from sop_platform.deadlines import span
from sop_platform.engine import Actor, NotFound, Refused
from sop_platform.models import ObligationClock, ObligationEvent
from sop_platform.registry import Registry

_CLOCKS = ObligationClock.__table__  # type: ignore[attr-defined]
_EVENTS = ObligationEvent.__table__  # type: ignore[attr-defined]


def start_clocks(engine: Engine, registry: Registry, now: datetime) -> int:
    """Create the clocks of every obligation of the newest SOP versions (idempotent)."""
    created = 0
    with transaction(engine) as session:
        conn = session.connection()
        existing = {
            (r.region_id, r.sop_id, r.obligation, r.unit_key)
            for r in conn.execute(
                select(
                    _CLOCKS.c.region_id, _CLOCKS.c.sop_id, _CLOCKS.c.obligation, _CLOCKS.c.unit_key
                )
            )
        }
        for sop_id, loaded in sorted(registry.catalog.latest().items()):
            sop = loaded.sop
            region = registry.region(sop.region)
            for name, ob in sop.obligations.items():
                units: list[str | None] = list(region.units) if ob.per_unit else [None]
                for unit in units:
                    if (sop.region, sop_id, name, unit) in existing:
                        continue
                    conn.execute(
                        insert(_CLOCKS),
                        {
                            "region_id": sop.region,
                            "sop_id": sop_id,
                            "obligation": name,
                            "unit_key": unit,
                            "due_at": now + span(ob.every),
                            "last_fulfilled_at": None,
                            "misses": 0,
                        },
                    )
                    created += 1
    return created


def fulfil(
    engine: Engine,
    registry: Registry,
    now: datetime,
    *,
    sop_id: str,
    obligation: str,
    unit: str | None,
    actor: Actor,
    note: str | None = None,
) -> datetime:
    """Record that ``unit`` met the obligation now; return when it is next due."""
    sop = registry.latest(sop_id).sop
    ob = sop.obligations.get(obligation)
    if ob is None:
        raise NotFound(
            f"Kewajiban '{obligation}' tidak ada dalam SOP {sop_id}.",
            f"Obligation '{obligation}' is not in SOP {sop_id}.",
        )
    kind = sop.roles[ob.by].kind
    ok = any(
        g.region == sop.region
        and g.role == ob.by
        and (kind is not RoleKind.unit_staff or not ob.per_unit or g.unit == unit)
        for g in actor.grants
    )
    if not ok:
        title = sop.roles[ob.by].title or ob.by
        raise Refused(
            f"Kewajiban ini dipenuhi oleh {title} perangkat daerah yang bersangkutan.",
            f"This obligation is met by the unit's {title}.",
            reason="not_your_role",
        )
    next_due = now + span(ob.every)
    with transaction(engine) as session:
        conn = session.connection()
        row = (
            conn.execute(
                select(_CLOCKS)
                .where(
                    _CLOCKS.c.region_id == sop.region,
                    _CLOCKS.c.sop_id == sop_id,
                    _CLOCKS.c.obligation == obligation,
                    _CLOCKS.c.unit_key.is_(None) if unit is None else _CLOCKS.c.unit_key == unit,
                )
                .with_for_update()
            )
            .mappings()
            .first()
        )
        if row is None:
            clock_id = conn.execute(
                insert(_CLOCKS).returning(_CLOCKS.c.id),
                {
                    "region_id": sop.region,
                    "sop_id": sop_id,
                    "obligation": obligation,
                    "unit_key": unit,
                    "due_at": next_due,
                    "last_fulfilled_at": now,
                    "misses": 0,
                },
            ).scalar_one()
            period = next_due
        else:
            clock_id, period = row["id"], row["due_at"]
            conn.execute(
                update(_CLOCKS)
                .where(_CLOCKS.c.id == clock_id)
                .values(due_at=next_due, last_fulfilled_at=now, misses=0)
            )
        conn.execute(
            insert(_EVENTS),
            {
                "clock_id": clock_id,
                "at": now,
                "kind": "fulfilled",
                "period_due_at": period,
                "actor_name": actor.name,
                "note": note,
            },
        )
    return next_due


def status(engine: Engine, sop_id: str, obligation: str, unit: str | None) -> dict[str, object]:
    with transaction(engine) as session:
        row = (
            session.connection()
            .execute(
                select(_CLOCKS).where(
                    _CLOCKS.c.sop_id == sop_id,
                    _CLOCKS.c.obligation == obligation,
                    _CLOCKS.c.unit_key.is_(None) if unit is None else _CLOCKS.c.unit_key == unit,
                )
            )
            .mappings()
            .first()
        )
    return dict(row) if row else {}
