"""The queue query on its own: scope from the published SOPs, urgency order, keyset pages."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from sop_platform.accounts import actor_for
from sop_platform.engine import CaseEngine
from sop_platform.registry import Registry
from sop_platform.timekeeping import VirtualClock
from tests.web.support import ADMIN_PUSAT, Reports
from web.queries import Cursor, QueueScope, queue_page, queue_scope


def test_scope_follows_by_and_informs_of_each_published_version(
    web_engine: Engine, web_registry: Registry, cases: CaseEngine
) -> None:
    upik = web_registry.latest("upik-pengaduan").content_hash
    with Session(web_engine) as session:
        dlh = queue_scope(session, web_registry, actor_for(cases.engine, "dlh.admin_opd"))
        pusat = queue_scope(session, web_registry, actor_for(cases.engine, ADMIN_PUSAT))
    assert (upik, "verifikasi", "dlh") in dlh.in_unit
    assert not dlh.anywhere  # unit staff only ever in their unit
    assert (upik, "tinjauan_pusat") in pusat.anywhere
    assert ("upik-pengaduan", web_registry.latest("upik-pengaduan").sop.title) in pusat.sops
    # JSS II: tindak_lanjut is the technical officer's and informs pejabat_struktural.
    jss = web_registry.latest("jss-pengaduan")
    assert "pejabat_struktural" in jss.sop.steps["tindak_lanjut"].informs
    with Session(web_engine) as session:
        structural = queue_scope(
            session, web_registry, actor_for(cases.engine, "yogyakarta.pejabat_struktural")
        )
    assert (jss.content_hash, "tindak_lanjut", "dinkes") in structural.in_unit


def test_deadlines_first_then_the_rest_across_pages(
    web_engine: Engine,
    web_registry: Registry,
    cases: CaseEngine,
    reports: Reports,
    web_clock: VirtualClock,
) -> None:
    admin = actor_for(cases.engine, "dlh.admin_opd")
    timed, untimed = [], []
    for i in range(6):
        case = reports.upik("kebersihan", f"Laporan {i}")
        web_clock.advance(timedelta(minutes=5))
        if i % 2:  # rejected to Admin Pusat's review, a step without a deadline
            cases.act(case.id, admin, "tolak", {"alasan": "Bukan DLH"})
            untimed.append(case.id)
        else:
            timed.append(case.id)
    upik = web_registry.latest("upik-pengaduan").content_hash
    scope = QueueScope(
        ("yogyakarta",),
        ((upik, "tinjauan_pusat"),),
        ((upik, "verifikasi", "dlh"),),
        (),
    )
    seen: list[int] = []
    cursors: list[Cursor | None] = []
    after: Cursor | None = None
    with Session(web_engine) as session:
        while True:
            page = queue_page(session, scope, after=after, limit=2)
            seen += [row.id for row in page.rows]
            cursors.append(page.next_cursor)
            if page.next_cursor is None:
                break
            after = Cursor.decode(page.next_cursor.encode())
    assert seen == timed + untimed  # by deadline, then the ones without, by id
    assert len(cursors) == 3
    assert cursors[0] is not None and cursors[0].due_at is not None
    assert cursors[1] is not None and cursors[1].due_at is None  # crossed into the untimed
    assert cursors[2] is None


def test_cursor_round_trip_and_junk() -> None:
    from datetime import UTC, datetime

    cursor = Cursor(datetime(2025, 11, 24, 2, 0, tzinfo=UTC), 7)
    assert Cursor.decode(cursor.encode()) == cursor
    assert Cursor.decode(Cursor(None, 9).encode()) == Cursor(None, 9)
    for junk in (None, "", "x", "~", "2025-11-24~x", "2025-11-24T02:00:00~3", "a~b~c"):
        assert Cursor.decode(junk) is None
