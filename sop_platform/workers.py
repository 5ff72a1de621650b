"""The background workers — the deadline sweeper and notification delivery — as threads that an
application process starts and stops with itself (``sop sweep`` / ``sop deliver`` run them as
separate processes instead)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine

from sop_platform import delivery, sweeper
from sop_platform.obligations import start_clocks
from sop_platform.registry import Registry
from sop_platform.telemetry import Heartbeat
from sop_platform.timekeeping import Clock

log = logging.getLogger(__name__)


@dataclass
class Workers:
    engine: Engine
    registry: Registry
    clock: Clock
    interval: float = 1.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        start_clocks(self.engine, self.registry, self.clock.now())
        sweep = sweeper.Sweeper(self.engine, self.registry, self.clock)
        deliver = delivery.Deliverer(self.engine, delivery.Transports.from_env(), self.clock)
        self._threads = [
            threading.Thread(
                target=sweeper.run_forever,
                args=(sweep, self._stop, self.interval, Heartbeat(self.engine, "sweeper")),
                name="sop-sweeper",
                daemon=True,
            ),
            threading.Thread(
                target=delivery.run_forever,
                args=(deliver, self.interval, self._stop),
                kwargs={"heartbeat": Heartbeat(self.engine, "delivery")},
                name="sop-delivery",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()
        log.info("sweeper and delivery worker started in this process")

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)
