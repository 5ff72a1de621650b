"""Rate limits for the API endpoints anyone may call without a key (submitting, tracking).

A fixed window per (bucket, client address), counted in a Litestar store like the sign-in limit
(:mod:`web.ratelimit`), so the count survives a restart and is shared by workers on the same
store. A refused call is told when the window ends (``Retry-After``, in whole seconds).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from litestar.stores.base import Store

from web.ratelimit import read_window, write_window


@dataclass(frozen=True)
class Limit:
    """At most ``calls`` in ``window`` seconds."""

    calls: int
    window: int


class RequestLimiter:
    """Counts calls per bucket (``submit``, ``track`` ...) and client address."""

    def __init__(
        self, store: Store, limits: dict[str, Limit], now: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.limits = limits
        self.now = now

    async def hit(self, bucket: str, address: str) -> int | None:
        """Count one call; ``None`` if it may go ahead, else the seconds until it may."""
        limit = self.limits[bucket]
        key = f"api|{bucket}|{address}"
        now = self.now()
        count, reset = await read_window(self.store, key, limit.window, now)
        if count >= limit.calls:
            return max(1, math.ceil(reset - now))
        await write_window(self.store, key, count + 1, reset, now)
        return None
