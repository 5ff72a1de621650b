"""The background workers — the deadline sweeper and notification delivery — as threads that an
application process starts and stops with itself (``sop sweep`` / ``sop deliver`` run them as
separate processes instead)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from sop_platform import delivery, retention, sweeper
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
    # The personal-data retention job (UU 27/2022): hourly is plenty for periods counted in
    # months; 0 turns it off in this process. Without uploads_dir it cannot remove the files.
    retention_interval: float = 3600.0
    uploads_dir: Path | None = None
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
        if self.retention_interval > 0:
            job = retention.RetentionJob(self.engine, self.registry, self.clock, self.uploads_dir)
            self._threads.append(
                threading.Thread(
                    target=retention.run_forever,
                    args=(job, self._stop, self.retention_interval),
                    name="sop-retention",
                    daemon=True,
                )
            )
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
