"""Staff accounts and their role grants; passwords hashed with argon2."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine
from sqlmodel import select

from sop_platform.db import transaction
from sop_platform.engine import Actor, Grant
from sop_platform.models import RegionRow, RoleGrant, UserAccount

_hasher = PasswordHasher()


class AccountError(ValueError):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_password() -> str:
    return secrets.token_urlsafe(12)


def parse_grant(text: str) -> Grant:
    """``region:role`` or ``region:role:unit``."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise AccountError(f"write a role as region:role or region:role:unit, not '{text}'")
    return Grant(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


def add_user(
    engine: Engine,
    username: str,
    full_name: str,
    password: str,
    grants: Sequence[Grant],
    now: datetime,
) -> int:
    with transaction(engine) as session:
        if session.exec(select(UserAccount).where(UserAccount.username == username)).first():
            raise AccountError(f"user '{username}' already exists")
        known = set(session.exec(select(RegionRow.id)).all())
        for g in grants:
            if g.region not in known:
                hint = ", ".join(sorted(known)) or "none yet: run `sop publish` first"
                raise AccountError(f"unknown region '{g.region}' (regions: {hint})")
        user = UserAccount(
            username=username,
            full_name=full_name,
            password_hash=hash_password(password),
            created_at=now,
        )
        session.add(user)
        session.flush()
        assert user.id is not None
        for g in grants:
            session.add(
                RoleGrant(user_id=user.id, region_id=g.region, role=g.role, unit_key=g.unit)
            )
        return user.id


def actor_for(engine: Engine, username: str) -> Actor:
    """The engine's view of a user: name and grants."""
    with transaction(engine) as session:
        user = session.exec(select(UserAccount).where(UserAccount.username == username)).first()
        if user is None or not user.active:
            raise AccountError(f"no active user '{username}'")
        grants = session.exec(select(RoleGrant).where(RoleGrant.user_id == user.id)).all()
        return Actor(
            user.full_name,
            tuple(Grant(g.region_id, g.role, g.unit_key) for g in grants),
            user_id=user.id,
        )


def authenticate(engine: Engine, username: str, password: str) -> Actor | None:
    with transaction(engine) as session:
        user = session.exec(select(UserAccount).where(UserAccount.username == username)).first()
        stored = user.password_hash if user and user.active else None
    if not verify_password(stored, password):
        return None
    return actor_for(engine, username)
