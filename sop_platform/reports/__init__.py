"""SOP conformance reports for compliance officers: figures, charts and exports.

``conformance_report(engine, registry, ReportFilter(...), now)`` builds the report;
``exports`` writes it as CSV (one row per step visit), XLSX or PDF; ``charts`` draws its SVG.
"""

from sop_platform.reports.conformance import (
    ConformanceReport,
    MonthRanking,
    StepRow,
    UnitRank,
    conformance_report,
    fill_missing_times,
    ranking_rule,
)
from sop_platform.reports.filters import ReportError, ReportFilter

__all__ = [
    "ConformanceReport",
    "MonthRanking",
    "ReportError",
    "ReportFilter",
    "StepRow",
    "UnitRank",
    "conformance_report",
    "fill_missing_times",
    "ranking_rule",
]
