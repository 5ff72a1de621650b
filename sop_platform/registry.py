"""Published SOP versions: which definitions exist, compiled and ready, old ones included.

A case is pinned to (SOP id, version, content hash). Publishing records each version by its content
hash; publishing the same version with other content is refused. A version that has left the
definition files (an old one) is still compiled from its stored copy for as long as cases use it.
A version may be withdrawn from new cases (``withdrawn_at``): new cases then start on the newest
version still published, and the cases already on it keep running (``by_hash`` ignores the flag).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlmodel import select

from rules.evaluator import CompiledSop, Evaluator
from rules.loader import Catalog, LoadedSop
from rules.model import Region, Sop
from sop_platform.db import transaction
from sop_platform.models import RegionRow, SopDefinitionRow, UnitRow
from sop_platform.timekeeping import WorkingCalendar

LATEST_TTL = 5.0  # seconds
_DEFS = SopDefinitionRow.__table__  # type: ignore[attr-defined]


class PublishError(ValueError):
    """A version that may not be published (same version, different content)."""


@dataclass(frozen=True)
class PublishResult:
    added: tuple[tuple[str, str], ...]
    unchanged: tuple[tuple[str, str], ...]


class Registry:
    """Regions, calendars and compiled SOP versions for one database."""

    def __init__(
        self, engine: Engine, catalog: Catalog, evaluator: Evaluator | None = None
    ) -> None:
        if not catalog.ok:
            raise ValueError("the catalog has problems; validate it first")
        self.engine = engine
        self.catalog = catalog
        self.evaluator = evaluator or Evaluator()
        self._calendars = {rid: WorkingCalendar(r.calendar) for rid, r in catalog.regions.items()}
        self._by_hash: dict[str, CompiledSop] = {}
        self._latest: dict[str, tuple[float, CompiledSop]] = {}
        self._lock = threading.Lock()
        for loaded in catalog.sops.values():
            self._by_hash[loaded.content_hash] = self.evaluator.register(loaded)

    # --- regions --------------------------------------------------------------------------

    def region(self, region_id: str) -> Region:
        return self.catalog.regions[region_id]

    def calendar(self, region_id: str) -> WorkingCalendar:
        return self._calendars[region_id]

    def local_text(self, when: datetime | None, region_id: str) -> str:
        """A time as the region reads it, e.g. ``24/11/2025 11:00 WIB``."""
        if when is None:
            return "-"
        local = when.astimezone(self._calendars[region_id].tz)
        return local.strftime("%d/%m/%Y %H:%M ") + (local.tzname() or "")

    # --- SOP versions ---------------------------------------------------------------------

    def publish(self, now: datetime) -> PublishResult:
        """Record regions, units and every SOP version of the catalog (idempotent)."""
        added: list[tuple[str, str]] = []
        unchanged: list[tuple[str, str]] = []
        with self._lock:
            self._latest.clear()
        with transaction(self.engine) as session:
            for rid, region in self.catalog.regions.items():
                row = session.get(RegionRow, rid)
                version = self._calendars[rid].version
                if row is None:
                    session.add(
                        RegionRow(
                            id=rid, name=region.name, level=region.level, calendar_version=version
                        )
                    )
                else:
                    row.name, row.level, row.calendar_version = region.name, region.level, version
                existing = {
                    u.key: u for u in session.exec(select(UnitRow).where(UnitRow.region_id == rid))
                }
                for key, unit in region.units.items():
                    if key in existing:
                        existing[key].code, existing[key].name = unit.code, unit.name
                    else:
                        session.add(UnitRow(region_id=rid, key=key, code=unit.code, name=unit.name))
            session.flush()
            for (sop_id, version), loaded in sorted(self.catalog.sops.items()):
                stored = session.exec(
                    select(SopDefinitionRow).where(
                        SopDefinitionRow.sop_id == sop_id, SopDefinitionRow.version == version
                    )
                ).first()
                if stored is None:
                    session.add(
                        SopDefinitionRow(
                            sop_id=sop_id,
                            version=version,
                            content_hash=loaded.content_hash,
                            region_id=loaded.sop.region,
                            title=loaded.sop.title,
                            raw=loaded.raw,
                            published_at=now,
                        )
                    )
                    added.append((sop_id, version))
                    continue
                if stored.content_hash != loaded.content_hash:
                    raise PublishError(
                        f"SOP '{sop_id}' version '{version}' is already published with other "
                        f"content ({loaded.path}); give the changed SOP a new version"
                    )
                unchanged.append((sop_id, version))
        return PublishResult(tuple(added), tuple(unchanged))

    def forget_latest(self) -> None:
        """Drop the remembered newest versions (after a version is withdrawn or re-published)."""
        with self._lock:
            self._latest.clear()

    def latest(self, sop_id: str) -> CompiledSop:
        """The newest published version of an SOP that is not withdrawn from new cases.

        Remembered for a few seconds: a version published by another process reaches new cases
        here within ``LATEST_TTL`` seconds (at once when published through this registry).
        """
        now = time.monotonic()
        with self._lock:
            cached = self._latest.get(sop_id)
        if cached is not None and now - cached[0] < LATEST_TTL:
            return cached[1]
        compiled = self._latest_from_db(sop_id)
        with self._lock:
            self._latest[sop_id] = (now, compiled)
        return compiled

    def latest_in(self, conn: Connection, sop_id: str) -> CompiledSop | None:
        """The newest published version, read through the caller's transaction."""
        found = conn.execute(
            select(_DEFS.c.content_hash, _DEFS.c.version)
            .where(_DEFS.c.sop_id == sop_id, _DEFS.c.withdrawn_at.is_(None))
            .order_by(_DEFS.c.version.desc())
        ).first()
        return None if found is None else self.by_hash(found[0], conn=conn)

    def _latest_from_db(self, sop_id: str) -> CompiledSop:
        with transaction(self.engine) as session:
            rows = session.exec(
                select(SopDefinitionRow).where(
                    SopDefinitionRow.sop_id == sop_id,
                    SopDefinitionRow.withdrawn_at.is_(None),  # type: ignore[union-attr]
                )
            ).all()
        if not rows:
            raise KeyError(sop_id)
        newest = max(rows, key=lambda r: r.version)
        return self.by_hash(newest.content_hash, newest)

    def by_hash(
        self,
        content_hash: str,
        row: SopDefinitionRow | None = None,
        conn: Connection | None = None,
    ) -> CompiledSop:
        """The compiled definition a case is pinned to (from files, else from its stored copy).

        Inside a transaction, pass its ``conn``: a second transaction would wait for the first
        one's write lock on SQLite.
        """
        with self._lock:
            found = self._by_hash.get(content_hash)
        if found is not None:
            return found
        raw: dict[str, Any] | None = None
        label = ""
        if row is not None:
            raw, label = row.raw, f"{row.sop_id} {row.version}"
        else:
            query = select(_DEFS.c.raw, _DEFS.c.sop_id, _DEFS.c.version).where(
                _DEFS.c.content_hash == content_hash
            )
            if conn is not None:
                stored = conn.execute(query).first()
            else:
                with transaction(self.engine) as session:
                    stored = session.connection().execute(query).first()
            if stored is not None:
                raw, label = stored[0], f"{stored[1]} {stored[2]}"
        if raw is None:
            raise KeyError(content_hash)
        sop = Sop.model_validate(raw)
        compiled = self.evaluator.register(LoadedSop(sop, f"<stored {label}>", content_hash, raw))
        with self._lock:
            self._by_hash[content_hash] = compiled
        return compiled

    def publish_loaded(self, loaded: LoadedSop, now: datetime) -> bool:
        """Record one validated SOP version that is not in the definition files (an upload).

        Stored in the database only; ``by_hash`` and ``latest`` find it there, in every process.
        Returns ``False`` when the same version with the same content is already published;
        the same version with other content raises :class:`PublishError` and stores nothing.
        """
        sop = loaded.sop
        if sop.region not in self.catalog.regions:
            raise PublishError(f"unknown region '{sop.region}'")
        with transaction(self.engine) as session:
            stored = session.exec(
                select(SopDefinitionRow).where(
                    SopDefinitionRow.sop_id == sop.sop, SopDefinitionRow.version == sop.version
                )
            ).first()
            if stored is not None:
                if stored.content_hash != loaded.content_hash:
                    raise PublishError(
                        f"SOP '{sop.sop}' version '{sop.version}' is already published with "
                        "other content; give the changed SOP a new version"
                    )
                return False
            session.add(
                SopDefinitionRow(
                    sop_id=sop.sop,
                    version=sop.version,
                    content_hash=loaded.content_hash,
                    region_id=sop.region,
                    title=sop.title,
                    raw=loaded.raw,
                    published_at=now,
                )
            )
        with self._lock:
            self._latest.pop(sop.sop, None)
        return True

    def published(self) -> list[SopDefinitionRow]:
        with transaction(self.engine) as session:
            return list(
                session.exec(
                    select(SopDefinitionRow).order_by(
                        SopDefinitionRow.sop_id, SopDefinitionRow.version
                    )
                )
            )
