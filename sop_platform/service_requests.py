"""What a report brought with it through the APIs: where (coordinates, an address), a media URL,
the client's own ids, and the Open311 token that finds the case.

Written right after the case is submitted, in its own transaction; recording the same case
again (a retried submission) keeps the first record. Validation happens before the case is
submitted, so bad input writes neither.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from sop_platform.db import transaction
from sop_platform.models import ServiceRequestRow


@dataclass(frozen=True)
class Arrival:
    """What came with a report besides its text and fields."""

    lat: float | None = None
    long: float | None = None
    address: str | None = None
    address_id: str | None = None
    media_url: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    api_key_id: int | None = None


@dataclass(frozen=True)
class Recorded:
    case_id: int
    token: str
    arrival: Arrival


def _recorded(row: ServiceRequestRow) -> Recorded:
    return Recorded(
        row.case_id,
        row.token,
        Arrival(
            lat=row.lat,
            long=row.long,
            address=row.address,
            address_id=row.address_id,
            media_url=row.media_url,
            device_id=row.device_id,
            account_id=row.account_id,
            api_key_id=row.api_key_id,
        ),
    )


def record(engine: Engine, case_id: int, arrival: Arrival) -> Recorded:
    """Keep what came with the case (once); the record already there wins."""
    existing = find([case_id], engine).get(case_id)
    if existing is not None:
        return existing
    token = secrets.token_urlsafe(18)
    try:
        with transaction(engine) as session:
            session.add(
                ServiceRequestRow(
                    case_id=case_id,
                    token=token,
                    api_key_id=arrival.api_key_id,
                    lat=arrival.lat,
                    long=arrival.long,
                    address=arrival.address,
                    address_id=arrival.address_id,
                    media_url=arrival.media_url,
                    device_id=arrival.device_id,
                    account_id=arrival.account_id,
                )
            )
    except IntegrityError:  # a concurrent retry recorded it first
        found = find([case_id], engine).get(case_id)
        if found is None:
            raise
        return found
    return Recorded(case_id, token, arrival)


def find(case_ids: Iterable[int], engine: Engine) -> dict[int, Recorded]:
    ids = list(case_ids)
    if not ids:
        return {}
    with transaction(engine) as session:
        rows = session.exec(
            select(ServiceRequestRow).where(col(ServiceRequestRow.case_id).in_(ids))
        ).all()
        return {row.case_id: _recorded(row) for row in rows}


def by_token(engine: Engine, token: str) -> Recorded | None:
    with transaction(engine) as session:
        row = session.exec(
            select(ServiceRequestRow).where(ServiceRequestRow.token == token)
        ).first()
        return _recorded(row) if row is not None else None
