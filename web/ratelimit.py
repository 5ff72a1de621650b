"""Sign-in attempts per username and client address, counted in a Litestar store.

A fixed window: at most ``attempts`` tries in ``window`` seconds from the first. The count lives
in the store (a file store by default), so it survives a restart and is shared by the workers
that use the same store. The read-then-write is not atomic: a burst of parallel attempts may get
a few more tries than the limit, never unlimited ones.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from litestar.stores.base import Store


class LoginLimiter:
    """At most ``attempts`` sign-in attempts per (username, address) in a fixed window."""

    def __init__(
        self,
        store: Store,
        attempts: int,
        window: int,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.attempts = attempts
        self.window = window
        self.now = now

    @staticmethod
    def key(username: str, address: str) -> str:
        return f"login|{username.strip().lower()}|{address}"

    async def hit(self, username: str, address: str) -> bool:
        """Count one attempt; ``False`` when the limit is exceeded (the attempt is refused)."""
        key = self.key(username, address)
        now = self.now()
        raw = await self.store.get(key)
        count, reset = 0, now + self.window
        if raw is not None:
            try:
                saved = json.loads(raw)
                count, reset = int(saved["n"]), float(saved["reset"])
            except (ValueError, KeyError, TypeError):
                count, reset = 0, now + self.window
        if reset <= now:
            count, reset = 0, now + self.window
        count += 1
        expires = max(1, int(reset - now) + 1)
        await self.store.set(key, json.dumps({"n": count, "reset": reset}), expires_in=expires)
        return count <= self.attempts

    async def clear(self, username: str, address: str) -> None:
        await self.store.delete(self.key(username, address))
