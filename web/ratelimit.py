"""Sign-in attempts per username and client address, counted in a Litestar store.

A fixed window: at most ``attempts`` tries in ``window`` seconds from the first. The count lives
in the store (a file store by default), so it survives a restart and is shared by the workers
that use the same store. The read-then-write is not atomic: a burst of parallel attempts may get
a few more tries than the limit, never unlimited ones.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable

from litestar.stores.base import Store


async def read_window(store: Store, key: str, window: int, now: float) -> tuple[int, float]:
    """The count so far and the end of the window kept at ``key``; a new window (0 calls, ending
    ``window`` seconds from ``now``) when there is none, it has ended, or it is unreadable."""
    raw = await store.get(key)
    if raw is not None:
        try:
            saved = json.loads(raw)
            count, reset = int(saved["n"]), float(saved["reset"])
        except (ValueError, KeyError, TypeError):
            pass
        else:
            if reset > now:
                return count, reset
    return 0, now + window


async def write_window(store: Store, key: str, count: int, reset: float, now: float) -> None:
    """Keep the window's count until just after it ends."""
    expires = max(1, math.ceil(reset - now) + 1)
    await store.set(key, json.dumps({"n": count, "reset": reset}), expires_in=expires)


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
        count, reset = await read_window(self.store, key, self.window, now)
        await write_window(self.store, key, count + 1, reset, now)
        return count + 1 <= self.attempts

    async def clear(self, username: str, address: str) -> None:
        await self.store.delete(self.key(username, address))
