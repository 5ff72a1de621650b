"""The flowchart layout and the official SOP table, for every seed SOP."""

from __future__ import annotations

import pytest

from rules.diagram import SUBMIT, layout
from rules.loader import Catalog
from rules.sheet import sheet

SEEDS = [
    "upik-pengaduan",
    "jss-kedaruratan",
    "jss-pengaduan",
    "jss-pelayanan-umum",
    "jss-data-informasi",
    "lapor",
    "pengaduan-terintegrasi",
    "helpdesk-siaga-112",
]


@pytest.mark.parametrize("sop_id", SEEDS)
def test_every_step_and_action_is_drawn_in_its_roles_lane(catalog: Catalog, sop_id: str) -> None:
    sop = catalog.get(sop_id).sop
    d = layout(sop)
    nodes = {n.id: n for n in d.nodes}
    assert set(sop.steps) <= set(nodes)
    assert nodes[SUBMIT].kind == "start" and nodes[SUBMIT].lane == sop.submission.by
    places = [(n.lane, n.column, n.row) for n in d.nodes]
    assert len(places) == len(set(places)), "two nodes on one spot"
    lanes = {lane.role: lane for lane in d.lanes}
    for sid, step in sop.steps.items():
        node = nodes[sid]
        assert node.kind == ("end" if step.terminal else "step")
        if step.by:
            assert node.lane == step.by
        assert node.row < lanes[node.lane].rows
        assert node.limit == (step.limit.text if step.limit else None)
        for aid, action in step.actions.items():
            if action.branches:
                decision = f"{sid}.{aid}"
                assert nodes[decision].kind == "decision"
                assert (sid, decision) in {(e.source, e.target) for e in d.edges}
                for branch in action.branches:
                    assert (decision, branch.to) in {(e.source, e.target) for e in d.edges}
            elif action.to:
                assert (sid, action.to) in {(e.source, e.target) for e in d.edges}
    assert nodes[sop.start].column == 1


def test_a_way_back_points_to_an_earlier_column(catalog: Catalog) -> None:
    d = layout(catalog.get("upik-pengaduan").sop)
    back = next(e for e in d.edges if (e.source, e.target) == ("tinjauan_pusat", "verifikasi"))
    assert d.node(back.target).column < d.node(back.source).column
    assert [lane.role for lane in d.lanes] == [
        "pelapor",
        "admin_opd",
        "admin_pusat",
        "petugas_lapangan",
    ]


@pytest.mark.parametrize("sop_id", SEEDS)
def test_the_table_has_a_row_per_activity_marked_in_its_actors_column(
    catalog: Catalog, sop_id: str
) -> None:
    sop = catalog.get(sop_id).sop
    table = sheet(sop)
    activities = [s for s in sop.steps.values() if not s.terminal]
    assert len(table.rows) == 1 + len(activities)
    assert table.rows[0].activity == sop.submission.title
    columns = [role for role, _ in table.roles]
    for row, step in zip(table.rows[1:], activities, strict=True):
        assert row.activity == step.title
        assert row.actor == step.by
        assert row.time == (step.limit.text if step.limit else "")
        assert row.completeness == tuple(step.completeness)
        assert row.output == (step.output or "")
        if step.by:
            assert step.by in columns


def test_bantul_keeps_the_documents_row_numbers_and_declared_total(catalog: Catalog) -> None:
    table = sheet(catalog.get("pengaduan-terintegrasi").sop)
    assert [r.number for r in table.rows] == ["1", "3", "4", "5", "6", "5", "6"]
    assert table.total == "1060 menit"


def test_the_keterangan_says_where_a_rejection_leads(catalog: Catalog) -> None:
    table = sheet(catalog.get("upik-pengaduan").sop)
    verification = table.rows[1]
    assert "Tolak aduan → Admin Pusat menjawab aduan yang ditolak" in verification.note
