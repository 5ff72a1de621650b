"""Health, readiness, Prometheus metrics, and a request id on every request.

* ``GET /health`` — liveness: the process answers (no database query). 200 ``{"status": "ok"}``.
* ``GET /ready`` — readiness: the database answers, its migrations are at the newest revision,
  and a sweeper wrote a heartbeat within ``SOP_READY_WORKER_AGE`` seconds. 200 when all hold,
  else 503; the body names each check.
* ``GET /metrics`` — Prometheus text format. Request counts and latencies are this process's
  (or, when ``PROMETHEUS_MULTIPROC_DIR`` is set, as ``sop serve --workers N`` does, the sum over
  all app processes); every ``sop_*`` gauge is read from the database at scrape time, so any
  process answers the same.

The request id comes from ``X-Request-ID`` (when it is a short token) or is made up; it is sent
back in the response header, put on every log line of the request, and stored in the payload of
each case event the request writes (``sop_platform.telemetry.REQUEST_ID``).
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from litestar import Request, Response, get
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from sop_platform import telemetry
from web.context import blocking, web_of

access_log = logging.getLogger("web.access")

REQUEST_HEADER = "x-request-id"
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_NOT_LOGGED = ("/static/",)

# Not registered on prometheus_client's global registry: /metrics builds its own registry, and
# several apps in one process (the tests) share these.
REQUESTS = Counter(
    "sop_http_requests",
    "HTTP requests answered, by method, route and status code.",
    ["method", "route", "status"],
    registry=None,
)
LATENCY = Histogram(
    "sop_http_request_duration_seconds",
    "Time from receiving a request to the end of its response, by method and route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,
)


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1").strip()
            if _GOOD_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def observe(app: ASGIApp) -> ASGIApp:
    """Middleware: request id (context, response header, logs), access log line, metrics."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        token = telemetry.REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = str(scope.get("path_template") or "unmatched")
            method = str(scope.get("method", ""))
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(elapsed)
            path = str(scope.get("path", ""))
            if not path.startswith(_NOT_LOGGED):
                access_log.info(
                    "%s %s %s %.1f ms",
                    method,
                    path,
                    status,
                    elapsed * 1000,
                    extra={
                        "request_id": request_id,
                        "method": method,
                        "path": path,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            telemetry.REQUEST_ID.reset(token)

    return middleware


@get("/health", name="health", include_in_schema=False)
async def health() -> Response[Any]:
    return Response({"status": "ok"}, headers={"Cache-Control": "no-store"})


def readiness(engine: Any, worker_age: float) -> tuple[bool, dict[str, Any]]:
    """Each readiness check with its outcome; ready when all pass."""
    checks: dict[str, Any] = {}
    why = telemetry.database_answers(engine)
    checks["database"] = {"ok": why is None, **({"error": why} if why else {})}
    if why is not None:
        checks["migrations"] = {"ok": False, "error": "database unreachable"}
        checks["sweeper"] = {"ok": False, "error": "database unreachable"}
        return False, checks
    current, revision, head = telemetry.migrations_current(engine)
    checks["migrations"] = {"ok": current, "revision": revision, "head": head}
    try:
        ages = telemetry.heartbeat_ages(engine)
    except Exception as err:  # a database before migration 0005 has no heartbeat table
        ages = {}
        checks["sweeper"] = {"ok": False, "error": str(err).splitlines()[0][:200]}
    else:
        age = ages.get("sweeper")
        checks["sweeper"] = {
            "ok": age is not None and age <= worker_age,
            "seconds_since_heartbeat": None if age is None else round(age, 1),
            "limit": worker_age,
        }
    if "delivery" in ages:  # reported, not required: a region may send nothing
        checks["delivery"] = {"seconds_since_heartbeat": round(ages["delivery"], 1)}
    return all(c.get("ok", True) for c in checks.values()), checks


@get("/ready", name="ready", include_in_schema=False)
async def ready(request: Request[Any, Any, Any]) -> Response[Any]:
    web = web_of(request.app.state)
    ok, checks = await blocking(readiness, web.engine, web.settings.ready_worker_age)
    return Response(
        {"status": "ready" if ok else "not ready", "checks": checks},
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )


class DatabaseFigures(Collector):
    """The ``sop_*`` gauges, read from the database when scraped."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def collect(self) -> list[Metric]:
        figures = telemetry.figures(self.engine)
        cases = _labelled("sop_cases", "Cases by SOP and status.", ["sop", "status"], figures.cases)
        breaches = _labelled(
            "sop_open_breaches",
            "Open step visits past their deadline, by SOP.",
            ["sop"],
            figures.open_breaches,
        )
        lag = GaugeMetricFamily(
            "sop_sweeper_lag_seconds",
            "How long the oldest due deadline check has waited for the sweeper (0: none waiting).",
            value=figures.sweeper_lag,
        )
        beats = _labelled(
            "sop_worker_heartbeat_age_seconds",
            "Seconds since the latest heartbeat of each kind of background worker.",
            ["kind"],
            figures.heartbeat_age,
        )
        notifications = [
            GaugeMetricFamily(name, documentation, value=value)
            for name, documentation, value in (
                (
                    "sop_notifications_backlog",
                    "Notifications waiting to be sent whose time has come.",
                    figures.notifications_backlog,
                ),
                (
                    "sop_notifications_retrying",
                    "Notifications still pending after at least one failed attempt.",
                    figures.notifications_retrying,
                ),
                (
                    "sop_notifications_failed",
                    "Notifications given up on after their last retry.",
                    figures.notifications_dead,
                ),
            )
        ]
        return [cases, breaches, lag, beats, *notifications]


def _labelled(
    name: str, documentation: str, labels: list[str], values: Mapping[Any, float]
) -> GaugeMetricFamily:
    """A gauge with one sample per key of ``values`` (a tuple key gives several labels)."""
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key) if isinstance(key, tuple) else [key], value)
    return family


def exposition(engine: Any) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # every app process's request counters, summed
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(DatabaseFigures(engine))
    return generate_latest(registry)


@get("/metrics", name="metrics", include_in_schema=False)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    body = await blocking(exposition, web_of(request.app.state).engine)
    return Response(
        body,
        media_type="text/plain; version=0.0.4; charset=utf-8",
        headers={"Cache-Control": "no-store"},
    )


ROUTES = [health, ready, metrics]
