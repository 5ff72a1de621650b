"""``sop report``: the conformance report on the command line, in every format the page offers."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from datetime import date, timedelta
from typing import IO, Any

from sop_platform.reports.exports import FORMATS


def period(args: argparse.Namespace) -> tuple[date, date]:
    """``--month YYYY-MM``, ``--year YYYY`` or ``--since/--until`` (inclusive) to two dates."""
    if args.month:
        first = date.fromisoformat(f"{args.month}-01")
        nxt = (first + timedelta(days=32)).replace(day=1)
        return first, nxt - timedelta(days=1)
    if args.year:
        return date(args.year, 1, 1), date(args.year, 12, 31)
    if args.since and args.until:
        return date.fromisoformat(args.since), date.fromisoformat(args.until)
    raise ValueError("give --month YYYY-MM, --year YYYY, or both --since and --until")


def cmd_report(args: argparse.Namespace) -> int:
    from sop_platform.cli import _db, _load_ok
    from sop_platform.registry import Registry
    from sop_platform.reports import ReportError, ReportFilter, conformance_report
    from sop_platform.reports.conformance import fill_missing_times
    from sop_platform.reports.exports import write_csv, write_pdf, write_xlsx
    from sop_platform.timekeeping import SystemClock

    catalog = _load_ok(None)
    if catalog is None:
        return 1
    engine = _db()
    registry = Registry(engine, catalog)
    if args.backfill:
        print(f"filled the time taken of {fill_missing_times(engine, registry)} closed visits")
        return 0
    if not args.region or not args.sop:
        print("error: --region and --sop are required", file=sys.stderr)
        return 2
    try:
        since, until = period(args)
        flt = ReportFilter(
            region=args.region,
            sop_id=args.sop,
            since=since,
            until=until,
            version=args.sop_version,
            unit=args.unit,
            channel=args.channel,
            min_cases=args.min_cases,
        )
        report = conformance_report(engine, registry, flt, SystemClock().now())
    except (ReportError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    to_stdout = args.output in (None, "-")
    if to_stdout and args.format in ("xlsx", "pdf") and sys.stdout.isatty():
        print("error: give -o FILE for a binary format", file=sys.stderr)
        return 2
    # Written straight to the file (or standard output) as it is made: a year's CSV or XLSX
    # is never held in memory whole.
    binary: IO[bytes] = (
        sys.stdout.buffer if to_stdout else open(args.output, "wb")  # noqa: SIM115
    )
    try:
        if args.format in ("csv", "json"):
            text = io.TextIOWrapper(binary, encoding="utf-8", newline="", write_through=True)
            if args.format == "csv":
                write_csv(engine, registry, flt, text)
            else:
                json.dump(report.to_dict(), text, ensure_ascii=False, indent=2)
                text.write("\n")
            text.flush()
            text.detach()
        elif args.format == "xlsx":
            write_xlsx(report, engine, registry, flt, binary, args.lang)
        else:
            write_pdf(report, binary, args.lang)
        binary.flush()
    except BrokenPipeError:
        # The reader stopped early (`sop report ... | head`): nothing more to say. Standard
        # output goes to /dev/null so that Python's own flush at exit does not fail again.
        if not to_stdout:
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        if not to_stdout:
            binary.close()
    if not to_stdout:
        size = os.path.getsize(args.output)
        print(f"wrote {args.output} ({size} bytes)", file=sys.stderr)
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="the SOP conformance report (per step, unit ranking, statistics) as CSV/XLSX/PDF/JSON",
    )
    p.add_argument("--region", help="region id, e.g. bantul")
    p.add_argument("--sop", help="SOP id, e.g. pengaduan-terintegrasi")
    p.add_argument("--version", dest="sop_version", help="one SOP version (default: all)")
    p.add_argument("--month", help="the period: one month, YYYY-MM")
    p.add_argument("--year", type=int, help="the period: one calendar year")
    p.add_argument("--since", help="first day, YYYY-MM-DD (with --until)")
    p.add_argument("--until", help="last day, YYYY-MM-DD, inclusive")
    p.add_argument("--unit", help="only cases of this unit")
    p.add_argument("--channel", help="only cases that came in on this channel")
    p.add_argument("--min-cases", type=int, default=5, help="cases a unit needs to be ranked")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.add_argument("--lang", choices=("id", "en"), default="id", help="language of XLSX/PDF")
    p.add_argument("-o", "--output", help="file to write (default: standard output)")
    p.add_argument(
        "--backfill",
        action="store_true",
        help="store the time taken for visits closed before it was recorded, then exit",
    )
    p.set_defaults(func=cmd_report)
