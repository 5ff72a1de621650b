"""The ``sop`` command: validate, compile, test and publish SOPs; set up and run the platform."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from rules.compiler import compile_sop
from rules.loader import Catalog, LoadedSop
from rules.schema import language_schema
from sop_platform import definitions, delivery, retention
from sop_platform.reports import command as reports_command
from sop_platform.timekeeping import SystemClock


def _print_problems(catalog: Catalog) -> None:
    for problem in sorted(catalog.problems, key=lambda p: (p.file, p.line, p.col)):
        print(problem, file=sys.stderr)
    count = len(catalog.problems)
    print(f"{count} problem{'s' if count != 1 else ''} found", file=sys.stderr)


def _summary(loaded: LoadedSop) -> str:
    sop = loaded.sop
    moving = sum(1 for s in sop.steps.values() if not s.terminal)
    limits = sum(1 for s in sop.steps.values() if s.limit)
    return (
        f"ok  {sop.sop} {sop.version} ({sop.region}): {len(sop.steps)} steps ({moving} active, "
        f"{limits} with a time limit), {len(sop.roles)} roles — {loaded.path}"
    )


def cmd_validate(args: argparse.Namespace) -> int:
    catalog = definitions.load(args.paths)
    if not catalog.ok:
        _print_problems(catalog)
        return 1
    for _, loaded in sorted(catalog.sops.items()):
        print(_summary(loaded))
    print(f"{len(catalog.sops)} SOPs in {len(catalog.regions)} regions are valid")
    return 0


def _load_ok(paths: Sequence[str] | None = None) -> Catalog | None:
    catalog = definitions.load(paths)
    if not catalog.ok:
        _print_problems(catalog)
        return None
    return catalog


def cmd_compile(args: argparse.Namespace) -> int:
    catalog = _load_ok(args.paths)
    if catalog is None:
        return 1
    matches = [ls for (sid, _ver), ls in catalog.sops.items() if sid == args.sop_id]
    if args.version:
        matches = [ls for ls in matches if ls.sop.version == args.version]
    if not matches:
        known = ", ".join(sorted({sid for sid, _ in catalog.sops}))
        print(f"unknown SOP '{args.sop_id}'; known: {known}", file=sys.stderr)
        return 1
    loaded = max(matches, key=lambda ls: ls.sop.version)
    print(json.dumps(compile_sop(loaded.sop, loaded.content_hash), indent=2, ensure_ascii=False))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    catalog = _load_ok(args.paths)
    if catalog is None:
        return 1
    for rid, region in sorted(catalog.regions.items()):
        demo = " (demo units)" if region.demo_units else ""
        print(f"{rid}: {region.name} — {len(region.units)} units{demo}")
        for (_, _), loaded in sorted(catalog.sops.items()):
            if loaded.sop.region == rid:
                print(f"  {loaded.sop.sop} {loaded.sop.version}: {loaded.sop.title}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    text = json.dumps(language_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    from sop_platform.scenarios import run_scenarios, scenario_files

    catalog = _load_ok(None)
    if catalog is None:
        return 1
    paths = args.paths or [definitions.definitions_dir()]
    if not scenario_files(paths):
        print("no scenario files found under " + ", ".join(map(str, paths)), file=sys.stderr)
        return 1
    results = run_scenarios(catalog, paths)
    for result in results:
        print(result.line())
    failed = sum(1 for r in results if not r.passed)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _config() -> Any:
    """The validated configuration; every problem printed and exit code 2 otherwise."""
    from sop_platform import config as settings

    try:
        return settings.load()
    except settings.ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from err


def _db() -> Any:
    """An engine on the configured database, which must answer (else exit code 2)."""
    from sop_platform import config as settings
    from sop_platform.db import make_engine

    cfg = _config()
    engine = make_engine(cfg.database_url)
    try:
        settings.check_database(engine, cfg)
    except settings.ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from err
    return engine


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from sop_platform.db import database_url
    from sop_platform.migrate import upgrade
    from sop_platform.telemetry import migrations_current

    engine = _db()
    upgrade(engine, args.revision)
    current, revision, head = migrations_current(engine)
    newest = " (the newest)" if current else f" (the newest is {head})"
    print(f"database at {_safe_url(database_url())} is at revision {revision}{newest}")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_publish(args: argparse.Namespace) -> int:
    from sop_platform.migrate import upgrade
    from sop_platform.registry import PublishError, Registry

    catalog = _load_ok(args.paths)
    if catalog is None:
        return 1
    engine = _db()
    upgrade(engine)
    registry = Registry(engine, catalog)
    try:
        result = registry.publish(SystemClock().now())
    except PublishError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    from sop_platform.obligations import start_clocks

    start_clocks(engine, registry, SystemClock().now())
    for sop_id, version in result.added:
        print(f"published {sop_id} {version}")
    for sop_id, version in result.unchanged:
        print(f"unchanged {sop_id} {version}")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    from sop_platform.accounts import AccountError, add_user, new_password, parse_grant
    from sop_platform.migrate import upgrade

    try:
        grants = [parse_grant(g) for g in args.role]
    except AccountError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    password = sys.stdin.readline().strip() if args.password_stdin else new_password()
    if not password:
        print("error: empty password", file=sys.stderr)
        return 2
    engine = _db()
    upgrade(engine)
    try:
        add_user(
            engine, args.username, args.name or args.username, password, grants, SystemClock().now()
        )
    except AccountError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"user {args.username} created with roles: " + ", ".join(args.role))
    if not args.password_stdin:
        print(f"password: {password}")
    return 0


def cmd_apikey_create(args: argparse.Namespace) -> int:
    from sop_platform import apikeys
    from sop_platform.migrate import upgrade

    catalog = _load_ok(None)
    if catalog is None:
        return 1
    engine = _db()
    upgrade(engine)
    try:
        made = apikeys.create(
            engine,
            catalog,
            name=args.name,
            region=args.region,
            roles=args.role or [],
            unit=args.unit,
            now=SystemClock().now(),
            created_by="sop apikey create",
        )
    except apikeys.ApiKeyError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    roles = ", ".join(sorted(set(args.role or []))) or "none (submits reports only)"
    print(f"API key {made.prefix} for {args.region} created; roles: {roles}")
    print("key (shown only now, store it safely):")
    print(made.key)
    return 0


def cmd_apikey_revoke(args: argparse.Namespace) -> int:
    from sop_platform import apikeys
    from sop_platform.migrate import upgrade

    engine = _db()
    upgrade(engine)
    try:
        info = apikeys.revoke(engine, args.prefix, SystemClock().now())
    except apikeys.ApiKeyError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    assert info.revoked_at is not None
    print(f"API key {info.prefix} ({info.name}) revoked at {info.revoked_at.isoformat()}")
    return 0


def cmd_apikey_list(args: argparse.Namespace) -> int:
    from sop_platform import apikeys
    from sop_platform.migrate import upgrade

    engine = _db()
    upgrade(engine)
    keys = apikeys.list_keys(engine, args.region)
    for k in keys:
        state = "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%d %H:%M}"
        unit = f" @ {k.unit}" if k.unit else ""
        roles = ",".join(k.roles) or "-"
        print(f"{k.prefix}  {k.region:<12} {roles}{unit}  {state}  {k.name}")
    print(f"{len(keys)} API key{'s' if len(keys) != 1 else ''}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from sop_platform.db import database_url
    from sop_platform.demo import set_up

    catalog = _load_ok(None)
    if catalog is None:
        return 1
    _, logins = set_up(_db(), catalog, SystemClock().now(), history=True)
    print(f"demo database: {_safe_url(database_url())} (with the demo cases of the past weeks)")
    print(
        f"{len(catalog.sops)} SOP versions published; demo logins (password for all: "
        f"{logins[0].password if logins else '-'}):"
    )
    for login in logins:
        unit = f" @ {login.unit}" if login.unit else ""
        print(f"  {login.username:<42} {login.title}{unit}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the deadline sweeper: warnings, breaches, escalations, missed obligations."""
    import logging
    import threading

    from sop_platform.migrate import upgrade
    from sop_platform.obligations import start_clocks
    from sop_platform.registry import Registry
    from sop_platform.sweeper import Sweeper, run_forever

    catalog = _load_ok(None)
    if catalog is None:
        return 1
    engine = _db()
    upgrade(engine)
    clock = SystemClock()
    registry = Registry(engine, catalog)
    registry.publish(clock.now())
    start_clocks(engine, registry, clock.now())
    sweeper = Sweeper(engine, registry, clock)
    if args.once:
        result = sweeper.tick()
        print(
            f"warnings {result.warnings}, breaches {result.breaches}, "
            f"escalations {result.escalations}, obligations missed {result.obligations_missed}"
        )
        return 0
    from sop_platform.telemetry import Heartbeat, configure_logging

    cfg = _config()  # validated by _db() above; read again here for the log format
    configure_logging(cfg.log_format, cfg.log_level)
    stop = threading.Event()
    _stop_on_signals(stop)
    logging.getLogger("sop_platform.sweeper").info("sweeper started on %s", cfg.safe_database_url)
    try:
        run_forever(sweeper, stop, args.interval, Heartbeat(engine, "sweeper"))
    except KeyboardInterrupt:
        stop.set()
    return 0


def _stop_on_signals(stop: Any) -> None:
    """SIGTERM (systemd's stop) and SIGINT end the loop after the current pass."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _n, _f: stop.set())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sop", description="SOP platform: validate, compile and run regional SOPs."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "validate", help="check SOP and region files; every problem as file:line:col"
    )
    p.add_argument("paths", nargs="*", help="files or folders (default: sop_definitions/)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("compile", help="print the durable_rules ruleset compiled from an SOP")
    p.add_argument("sop_id")
    p.add_argument("--version", help="a specific version (default: the newest)")
    p.add_argument("--paths", nargs="*", help="where to load definitions from")
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("list", help="list regions and their SOPs")
    p.add_argument("paths", nargs="*")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("schema", help="print the JSON Schema of the SOP language (for editors)")
    p.add_argument("--output", "-o", help="write to this file instead of standard output")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("test", help="run the SOP scenario tests on a virtual clock")
    p.add_argument("paths", nargs="*", help="scenario files or folders (default: sop_definitions/)")
    p.set_defaults(func=cmd_test)

    p = sub.add_parser("publish", help="record every SOP version in the database (by content hash)")
    p.add_argument("paths", nargs="*")
    p.set_defaults(func=cmd_publish)

    db = sub.add_parser("db", help="database commands")
    dbsub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    p = dbsub.add_parser("upgrade", help="apply the schema migrations (Alembic)")
    p.add_argument("revision", nargs="?", default="head")
    p.set_defaults(func=cmd_db_upgrade)

    user = sub.add_parser("user", help="staff accounts")
    usersub = user.add_subparsers(dest="user_command", required=True, metavar="COMMAND")
    p = usersub.add_parser("add", help="create a staff account with roles")
    p.add_argument("username")
    p.add_argument("--name", help="full name")
    p.add_argument(
        "--role",
        action="append",
        required=True,
        help="region:role or region:role:unit (repeat for several)",
    )
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (default: generate and print one)",
    )
    p.set_defaults(func=cmd_user_add)

    p = sub.add_parser("sweep", help="run the deadline sweeper (warnings, breaches, escalations)")
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between passes")
    p.set_defaults(func=cmd_sweep)

    apikey = sub.add_parser("apikey", help="API keys for the JSON and Open311 APIs")
    apisub = apikey.add_subparsers(dest="apikey_command", required=True, metavar="COMMAND")
    p = apisub.add_parser("create", help="create a key for one region; print it once")
    p.add_argument("name", help="who uses the key, e.g. 'Aplikasi JSS'")
    p.add_argument("--region", required=True)
    p.add_argument(
        "--role",
        action="append",
        help="an SOP role of the region the key acts in (repeat; none: it only submits reports)",
    )
    p.add_argument("--unit", help="the unit, for unit-staff roles")
    p.set_defaults(func=cmd_apikey_create)
    p = apisub.add_parser("revoke", help="revoke a key (by its prefix or the whole key)")
    p.add_argument("prefix")
    p.set_defaults(func=cmd_apikey_revoke)
    p = apisub.add_parser("list", help="list keys (never the keys themselves)")
    p.add_argument("--region")
    p.set_defaults(func=cmd_apikey_list)

    from sop_platform import backup

    backup.add_parsers(sub)
    delivery.add_parser(sub)
    retention.add_parser(sub)
    reports_command.add_parser(sub)

    p = sub.add_parser(
        "demo",
        help="load the seed SOPs, units, one login per role and weeks of demo cases; print logins",
    )
    p.set_defaults(func=cmd_demo)

    # Commands of the layers above (the web application's `serve` and `run`) plug in through the
    # "sop.commands" entry point, so this package never imports them.
    for entry in entry_points(group="sop.commands"):
        entry.load()(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
