"""Run the web application: ``serve(host, port)`` builds everything from the environment.

| variable | default | meaning |
|---|---|---|
| ``SOP_DATABASE_URL`` | ``sqlite:///sop.db`` | the database (see ``sop_platform.db``) |
| ``SOP_DEFINITIONS`` | ``./sop_definitions`` | the region and SOP files |
| ``SOP_DEMO`` | unset | ``1``: migrate, publish and create the demo logins first |
| ``SOP_WEB_SECRET`` | generated once into the store | signs CSRF tokens (32+ characters) |
| ``SOP_WEB_STORE`` | ``./.sop-web`` | sessions and sign-in attempt counts (files) |
| ``SOP_WEB_SECURE_COOKIES`` | unset | ``1`` behind HTTPS: cookies only over TLS |
| ``SOP_WEB_FORWARDED_ALLOW_IPS`` | ``127.0.0.1`` | proxies trusted for the client address |
| ``SOP_WORKERS_IN_APP`` | ``1`` | ``0``: do not run the sweeper and delivery worker in the app |
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when used: `sop validate` and friends stay quick
    from litestar import Litestar

    from sop_platform.demo import DemoLogin

log = logging.getLogger("web")


def store_dir() -> Path:
    return Path(os.environ.get("SOP_WEB_STORE") or ".sop-web")


def web_secret(directory: Path) -> str:
    """``SOP_WEB_SECRET``, else a random one kept in the store (stable across restarts)."""
    configured = os.environ.get("SOP_WEB_SECRET")
    if configured:
        return configured
    path = directory / "secret"
    if path.is_file():
        saved = path.read_text().strip()
        if len(saved) >= 32:
            return saved
    directory.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return secret


def build(demo: bool | None = None) -> tuple[Litestar, list[DemoLogin]]:
    """The application on the configured database; with ``demo``, the demo set-up first."""
    from sop_platform import definitions
    from sop_platform.db import database_url, make_engine
    from sop_platform.demo import set_up
    from sop_platform.migrate import upgrade
    from sop_platform.registry import Registry
    from sop_platform.timekeeping import SystemClock
    from web.app import create_app

    catalog = definitions.load()
    if not catalog.ok:
        problems = "\n".join(map(str, catalog.problems))
        raise SystemExit(f"the SOP definitions have problems; run `sop validate`:\n{problems}")
    engine = make_engine(database_url())
    clock = SystemClock()
    logins: list[DemoLogin] = []
    if demo if demo is not None else os.environ.get("SOP_DEMO") == "1":
        registry, logins = set_up(engine, catalog, clock.now())
    else:
        upgrade(engine)
        registry = Registry(engine, catalog)
        registry.publish(clock.now())
    directory = store_dir()
    app = create_app(
        engine,
        registry,
        clock,
        secret=web_secret(directory),
        store_dir=directory,
        secure_cookies=os.environ.get("SOP_WEB_SECURE_COOKIES") == "1",
    )
    if os.environ.get("SOP_WORKERS_IN_APP", "1") != "0":
        from sop_platform.workers import Workers

        workers = Workers(engine, registry, clock)
        app.on_startup.append(lambda _app: workers.start())
        app.on_shutdown.append(lambda _app: workers.stop())
    return app, logins


def print_logins(logins: list[DemoLogin]) -> None:
    if not logins:
        return
    print(f"demo logins (password for all: {logins[0].password}):")
    for login in logins:
        unit = f" @ {login.unit}" if login.unit else ""
        print(f"  {login.username:<42} {login.title}{unit}")


def serve(host: str = "127.0.0.1", port: int = 8000, *, demo: bool | None = None) -> None:
    """Build the app from the environment and run it with uvicorn until interrupted."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # keep the logins readable
    app, logins = build(demo)
    print_logins(logins)
    print(f"serving on http://{host}:{port}/", flush=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("SOP_WEB_FORWARDED_ALLOW_IPS") or "127.0.0.1",
        log_level="info",
    )


def _host_port(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")


def cmd_serve(args: argparse.Namespace) -> int:
    serve(args.host, args.port)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    serve(args.host, args.port, demo=True)
    return 0


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` and ``run`` to the ``sop`` command's sub-commands."""
    p = subparsers.add_parser(
        "serve", help="run the web application on the database SOP_DATABASE_URL names"
    )
    _host_port(p)
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
    arguments = parser.parse_args(argv)
    serve(arguments.host, arguments.port, demo=True if arguments.demo else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
