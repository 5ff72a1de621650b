"""Rate limits for the API endpoints anyone may call without a key (submitting, tracking).

A fixed window per (bucket, client address), counted in a Litestar store like the sign-in limit
(:mod:`web.ratelimit`), so the count survives a restart and is shared by workers on the same
store. A refused call is told when the window ends (``Retry-After``, in whole seconds).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from litestar.stores.base import Store


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
        count, reset = 0, now + limit.window
        raw = await self.store.get(key)
        if raw is not None:
            try:
                saved = json.loads(raw)
                count, reset = int(saved["n"]), float(saved["reset"])
            except (ValueError, KeyError, TypeError):
                count, reset = 0, now + limit.window
        if reset <= now:
            count, reset = 0, now + limit.window
        if count >= limit.calls:
            return max(1, math.ceil(reset - now))
        count += 1
        expires = max(1, math.ceil(reset - now) + 1)
        await self.store.set(key, json.dumps({"n": count, "reset": reset}), expires_in=expires)
        return None
