"""The flowchart of an SOP as a layout: nodes in role lanes and columns, edges between them.

A pure function of the definition (no drawing here; ``web/diagram.py`` turns it into SVG). The
shape follows the paper SOPs' flowcharts: one horizontal lane per Pelaksana, the report's
submission first, each step a box in the lane of its responsible role, an action with branches a
decision diamond after its step, terminal steps as end nodes.

Columns are the shortest distance from the submission, so the main path reads left to right and
a way back (a rejected report returning to verification) points to an earlier column. Nodes that
share a lane and a column are stacked in rows of that lane.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from rules.model import Sop

SUBMIT = "__submit"


@dataclass(frozen=True)
class Lane:
    role: str
    title: str
    rows: int  # how many nodes are stacked in its busiest column


@dataclass(frozen=True)
class Node:
    id: str  # the step id; ``__submit`` for the submission; ``<step>.<action>`` for a decision
    kind: str  # start, step, decision, end
    title: str
    lane: str
    column: int
    row: int
    limit: str | None = None
    number: str | None = None
    step: str | None = None  # the step the node belongs to (a decision's step)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str


@dataclass(frozen=True)
class Diagram:
    lanes: tuple[Lane, ...]
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    columns: int

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)


def _edges(sop: Sop) -> list[Edge]:
    out = [Edge(SUBMIT, sop.start, "")]
    for sid, step in sop.steps.items():
        for aid, action in step.actions.items():
            label = action.label or aid
            if action.branches:
                decision = f"{sid}.{aid}"
                out.append(Edge(sid, decision, label))
                for i, branch in enumerate(action.branches):
                    text = branch.label or ("lainnya" if branch.otherwise else f"#{i + 1}")
                    out.append(Edge(decision, branch.to, text))
            elif action.to:
                out.append(Edge(sid, action.to, label))
    return out


def layout(sop: Sop) -> Diagram:
    """The SOP's flowchart laid out in role lanes (see the module's docstring)."""
    edges = _edges(sop)
    following: dict[str, list[str]] = {}
    for e in edges:
        following.setdefault(e.source, []).append(e.target)

    # Columns by breadth-first distance; steps the walk never reaches (the validator refuses
    # them, but a stored old version is drawn as it is) go after the last column.
    column: dict[str, int] = {SUBMIT: 0}
    queue = deque([SUBMIT])
    while queue:
        here = queue.popleft()
        for there in following.get(here, []):
            if there not in column:
                column[there] = column[here] + 1
                queue.append(there)
    last = max(column.values())
    for sid in sop.steps:
        if sid not in column:
            last += 1
            column[sid] = last

    # Lanes in order of first appearance: the submitter, then each step's Pelaksana.
    lane_of: dict[str, str] = {SUBMIT: sop.submission.by}
    order: list[str] = [sop.submission.by]
    for sid, step in sop.steps.items():
        if step.by:
            lane_of[sid] = step.by
            if step.by not in order:
                order.append(step.by)
    for e in edges:  # decisions sit in their step's lane; role-less steps in their first caller's
        if e.target not in lane_of and e.source in lane_of:
            lane_of[e.target] = lane_of[e.source]
    for sid in sop.steps:
        lane_of.setdefault(sid, order[-1])

    kinds: dict[str, tuple[str, str, str | None, str | None, str | None]] = {
        SUBMIT: ("start", sop.submission.title, None, sop.submission.number, None)
    }
    for sid, step in sop.steps.items():
        limit = step.limit.text if step.limit else None
        kinds[sid] = ("end" if step.terminal else "step", step.title, limit, step.number, sid)
        for aid, action in step.actions.items():
            if action.branches:
                kinds[f"{sid}.{aid}"] = ("decision", action.label or aid, None, None, sid)

    taken: dict[tuple[str, int], int] = {}
    nodes: list[Node] = []
    for node_id in sorted(kinds, key=lambda n: (column[n], order.index(lane_of[n]))):
        lane = lane_of[node_id]
        row = taken.get((lane, column[node_id]), 0)
        taken[(lane, column[node_id])] = row + 1
        kind, title, limit, number, step_id = kinds[node_id]
        nodes.append(Node(node_id, kind, title, lane, column[node_id], row, limit, number, step_id))

    lanes = tuple(
        Lane(
            role,
            sop.roles[role].title or role if role in sop.roles else role,
            max([count for (ln, _), count in taken.items() if ln == role] or [1]),
        )
        for role in order
    )
    return Diagram(lanes, tuple(nodes), tuple(edges), max(column.values()) + 1)
