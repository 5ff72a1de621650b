"""The ``sop`` command: validate, compile and inspect SOP definitions (and, later, run the platform)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rules.compiler import compile_sop
from rules.loader import Catalog, LoadedSop
from rules.schema import language_schema
from sop_platform import definitions


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
    matches = [l for (sid, ver), l in catalog.sops.items() if sid == args.sop_id]
    if args.version:
        matches = [l for l in matches if l.sop.version == args.version]
    if not matches:
        known = ", ".join(sorted({sid for sid, _ in catalog.sops}))
        print(f"unknown SOP '{args.sop_id}'; known: {known}", file=sys.stderr)
        return 1
    loaded = max(matches, key=lambda l: l.sop.version)
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


def cmd_run(args: argparse.Namespace) -> int:
    """Until the web app exists: validate and list every SOP."""
    code = cmd_validate(argparse.Namespace(paths=None))
    if code:
        return code
    return cmd_list(argparse.Namespace(paths=None))


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

    p = sub.add_parser("run", help="set up and run the platform")
    p.set_defaults(func=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
