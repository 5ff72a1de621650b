"""The official SOP table (PermenPAN-RB 35/2012) built from a definition.

The seed documents lay a procedure out as: No., Kegiatan, one column per Pelaksana with a mark
in the acting role's column, then Mutu Baku (Kelengkapan, Waktu, Output) and Keterangan. The
first row is the submission (the reporter's own step), then every step in the order of the file;
terminal steps are the end of the flow, not activities, so they have no row.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.model import Sop


@dataclass(frozen=True)
class SheetRow:
    number: str
    activity: str
    actor: str | None  # the role id marked in the Pelaksana columns
    completeness: tuple[str, ...]
    time: str
    output: str
    note: str


@dataclass(frozen=True)
class Sheet:
    roles: tuple[tuple[str, str], ...]  # (role id, title): the Pelaksana columns
    rows: tuple[SheetRow, ...]
    total: str | None  # the declared total of the times, as the document writes it


def _note(sop: Sop, step_id: str) -> str:
    """Keterangan: the step's own note, then where each of its actions leads."""
    step = sop.steps[step_id]
    parts = [step.note] if step.note else []
    for aid, action in step.actions.items():
        label = action.label or aid
        if action.branches:
            ways = ", ".join(
                f"{b.label or ('lainnya' if b.otherwise else '')} → {_title(sop, b.to)}".strip()
                for b in action.branches
            )
            parts.append(f"{label}: {ways}")
        elif action.to and action.to != step_id:
            parts.append(f"{label} → {_title(sop, action.to)}")
    if step.informs:
        names = ", ".join(sop.roles[r].title or r for r in step.informs if r in sop.roles)
        parts.append(f"Diteruskan juga kepada {names}")
    return "; ".join(parts)


def _title(sop: Sop, step_id: str) -> str:
    return sop.steps[step_id].title if step_id in sop.steps else step_id


def sheet(sop: Sop) -> Sheet:
    """The table's rows and Pelaksana columns (roles in order of first appearance)."""
    order: list[str] = [sop.submission.by]
    for step in sop.steps.values():
        if step.by and step.by not in order and not step.terminal:
            order.append(step.by)
    sub = sop.submission
    rows = [
        SheetRow(
            number=sub.number or "1",
            activity=sub.title,
            actor=sub.by,
            completeness=tuple(sub.completeness),
            time=sub.limit.text if sub.limit else "",
            output=sub.output or "",
            note=sub.note or "",
        )
    ]
    for i, (sid, step) in enumerate(sop.steps.items(), start=2):
        if step.terminal:
            continue
        rows.append(
            SheetRow(
                number=step.number or str(i),
                activity=step.title,
                actor=step.by,
                completeness=tuple(step.completeness),
                time=step.limit.text if step.limit else "",
                output=step.output or "",
                note=_note(sop, sid),
            )
        )
    roles = tuple((r, (sop.roles[r].title or r) if r in sop.roles else r) for r in order)
    return Sheet(roles, tuple(rows), sop.total_limit.text if sop.total_limit else None)
