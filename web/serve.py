"""Run the web application: configuration checked once, then one or several app processes.

``sop serve`` reads the configuration (:mod:`sop_platform.config`, every variable in the
README's "Configuration" table), refuses to start on any problem with a message naming the
variable, makes sure the database answers, migrates it and publishes the SOP files — once, in
the parent process — and then runs uvicorn: the app itself for one process, or the import string
``web.serve:app_factory`` for ``--workers N`` (each worker process builds its own app from the
same environment and never migrates).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when used: `sop validate` and friends stay quick
    from litestar import Litestar

    from rules.loader import Catalog
    from sop_platform.config import Config
    from sop_platform.demo import DemoLogin

log = logging.getLogger("web")

APP_FACTORY = "web.serve:app_factory"


def _catalog(config: Config) -> Catalog:
    from sop_platform import definitions

    catalog = definitions.load([config.definitions] if config.definitions else None)
    if not catalog.ok:
        problems = "\n".join(map(str, catalog.problems))
        raise SystemExit(f"the SOP definitions have problems; run `sop validate`:\n{problems}")
    return catalog


def prepare(config: Config, demo: bool = False) -> list[DemoLogin]:
    """Once per start, before any app process: the database answers, is migrated and has the
    SOP files published (with ``demo``, the demo logins too); production checks pass; the
    generated secret exists so that every worker reads the same one."""
    from sop_platform import config as settings
    from sop_platform.db import make_engine
    from sop_platform.demo import set_up
    from sop_platform.migrate import upgrade
    from sop_platform.obligations import start_clocks
    from sop_platform.registry import Registry
    from sop_platform.timekeeping import SystemClock

    if demo and config.production:
        raise settings.ConfigError(
            ["the demo set-up (`sop run`, SOP_DEMO=1) is refused in production"]
        )
    catalog = _catalog(config)
    engine = make_engine(config.database_url)
    try:
        settings.check_database(engine, config)
        now = SystemClock().now()
        logins: list[DemoLogin] = []
        if demo or config.demo:
            _, logins = set_up(engine, catalog, now, history=True)
        else:
            upgrade(engine)
            registry = Registry(engine, catalog)
            registry.publish(now)
            start_clocks(engine, registry, now)
        settings.check_production(engine, config)
    finally:
        engine.dispose()
    config.secret()
    return logins


def build_app(config: Config) -> Litestar:
    """One app process on a prepared database (no migration, no publishing)."""
    from sop_platform.db import make_engine
    from sop_platform.registry import Registry
    from sop_platform.telemetry import configure_logging
    from sop_platform.timekeeping import SystemClock
    from web.app import create_app

    engine = make_engine(config.database_url)
    clock = SystemClock()
    registry = Registry(engine, _catalog(config))
    app = create_app(
        engine,
        registry,
        clock,
        secret=config.secret(),
        store_dir=config.web_store,
        uploads_dir=config.uploads,
        secure_cookies=config.secure_cookies,
        ready_worker_age=config.ready_worker_age,
    )
    if config.workers_in_app:
        from sop_platform.workers import Workers

        workers = Workers(engine, registry, clock, uploads_dir=config.uploads)
        app.on_startup.append(lambda _app: workers.start())
        app.on_shutdown.append(lambda _app: workers.stop())
    app.on_shutdown.append(lambda _app: engine.dispose())
    # Litestar sets up its own log format when an app is made; ours (text or JSON) wins.
    configure_logging(config.log_format, config.log_level)
    return app


def app_factory() -> Litestar:
    """What each uvicorn worker process calls (``--workers N``): the app from the environment."""
    from sop_platform import config as settings

    return build_app(settings.load())


def build(demo: bool | None = None) -> tuple[Litestar, list[DemoLogin]]:
    """Prepare the configured database and build one app on it (tests, ``python -m``)."""
    from sop_platform import config as settings

    config = settings.load()
    logins = prepare(config, bool(demo))
    return build_app(config), logins


def print_logins(logins: list[DemoLogin]) -> None:
    if not logins:
        return
    print(f"demo logins (password for all: {logins[0].password}):")
    for login in logins:
        unit = f" @ {login.unit}" if login.unit else ""
        print(f"  {login.username:<42} {login.title}{unit}")


def _metrics_dir(config: Config) -> Path:
    """A fresh folder for prometheus_client's multi-process files (one set per start)."""
    folder = config.web_store / "metrics"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def serve(
    host: str | None = None,
    port: int | None = None,
    *,
    demo: bool | None = None,
    workers: int | None = None,
) -> None:
    """Check the configuration, prepare the database, run uvicorn until stopped."""
    import uvicorn

    from sop_platform import config as settings
    from sop_platform.telemetry import configure_logging

    try:
        config = settings.load()
        configure_logging(config.log_format, config.log_level)
        logins = prepare(config, bool(demo))
    except settings.ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from err
    print_logins(logins)
    host = host or config.host
    port = port or config.port
    processes = workers or config.web_workers
    options = {
        "host": host,
        "port": port,
        "proxy_headers": True,
        "forwarded_allow_ips": config.forwarded_allow_ips,
        "log_config": None,  # our own logging (text or JSON), set up above and in each worker
        "access_log": False,  # web.observability logs each request with its request id
    }
    mode = "production" if config.production else "development"
    if processes == 1:
        print(f"serving on http://{host}:{port}/ ({mode}, 1 process)", flush=True)
        uvicorn.run(build_app(config), **options)  # type: ignore[arg-type]
        return
    # The worker processes inherit the environment: the process count (so that they leave the
    # sweeper and delivery to their own services unless SOP_WORKERS_IN_APP=1) and the folder
    # where prometheus_client sums their request counters.
    os.environ["SOP_WEB_WORKERS"] = str(processes)
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_metrics_dir(config)))
    if not settings.load().workers_in_app:
        print("the sweeper and delivery run as their own services: `sop sweep`, `sop deliver`")
    print(f"serving on http://{host}:{port}/ ({mode}, {processes} processes)", flush=True)
    # Each worker compiles every SOP before it answers; on a busy machine that can take longer
    # than uvicorn's 5 s start-up check, which would then kill and restart it.
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        workers=processes,
        timeout_worker_healthcheck=60,
        **options,  # type: ignore[arg-type]
    )


def _host_port(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="address to listen on (SOP_WEB_HOST)")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (SOP_WEB_PORT)")


def cmd_serve(args: argparse.Namespace) -> int:
    serve(args.host, args.port, workers=args.workers)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    serve(args.host, args.port, demo=True)
    return 0


def _workers(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"a number of processes from 1 to 64, not '{text}'")
    return int(text)


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` and ``run`` to the ``sop`` command's sub-commands."""
    p = subparsers.add_parser(
        "serve", help="run the web application on the database SOP_DATABASE_URL names"
    )
    _host_port(p)
    p.add_argument(
        "--workers",
        type=_workers,
        default=None,
        help="app processes (default: SOP_WEB_WORKERS, else 1)",
    )
    p.set_defaults(func=cmd_serve)
    p = subparsers.add_parser(
        "run", help="set up the demo database, print one login per role, run the web application"
    )
    _host_port(p)
    p.set_defaults(func=cmd_run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="run the SOP platform's web application")
    _host_port(parser)
    parser.add_argument("--demo", action="store_true", help="demo set-up first (as SOP_DEMO=1)")
    parser.add_argument("--workers", type=_workers, default=None, help="app processes")
    arguments = parser.parse_args(argv)
    serve(arguments.host, arguments.port, demo=arguments.demo or None, workers=arguments.workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
