"""The staff pages' queries on SQLite and PostgreSQL: queue filters and search, open escalations,
the paused visit, and publishing an uploaded SOP version into the database."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col

from rules.evaluator import Evaluator
from rules.loader import Catalog, load_catalog
from sop_platform.cases import Actor, Grant
from sop_platform.engine import CaseEngine, NewCase
from sop_platform.models import CaseRow
from sop_platform.registry import PublishError, Registry
from sop_platform.sweeper import Sweeper
from sop_platform.timekeeping import VirtualClock
from tests.conftest import DEFINITIONS
from web.queries import escalations_for, open_visit_pause, queue_page, queue_scope

DLH_ADMIN = Actor("Admin DLH", (Grant("yogyakarta", "admin_opd", "dlh"),))
DLH_PETUGAS = Actor("Petugas DLH", (Grant("yogyakarta", "petugas_lapangan", "dlh"),))
ADMIN_PUSAT = Actor("Admin Pusat", (Grant("yogyakarta", "admin_pusat"),))


@pytest.fixture
def db_cases(db_engine: Engine, registry: Registry, clock: VirtualClock) -> CaseEngine:
    """The engine on ``db_engine`` (the web tests' ``cases`` runs on their SQLite demo)."""
    return CaseEngine(db_engine, registry, clock)


def upik(cases: CaseEngine, text: str, kategori: str = "kebersihan") -> int:
    view = cases.submit(
        NewCase(
            sop_id="upik-pengaduan",
            channel="jss",
            text=text,
            fields={"kategori": kategori},
            anonymous=True,
        )
    )
    return view.id


def ids(db_engine: Engine, registry: Registry, actor: Actor, **filters: object) -> list[int]:
    with Session(db_engine) as db:
        scope = queue_scope(db, registry, actor)
        page = queue_page(db, scope, **filters)  # type: ignore[arg-type]
    return [r.id for r in page.rows]


def test_filters_and_search_on_both_databases(
    db_engine: Engine, registry: Registry, db_cases: CaseEngine, clock: VirtualClock
) -> None:
    cases = db_cases
    monday = upik(cases, "Got mampet di Jalan Kaliurang")
    clock.advance(timedelta(days=1))
    tuesday = upik(cases, "Lampu taman 100% padam")
    odd = upik(cases, "Kabel_listrik putus")
    moved = upik(cases, "Sudah diterima")
    cases.act(moved, DLH_ADMIN, "terima", {})
    # UPIK takes reports from JSS only; one more channel, as another intake would write it.
    with db_engine.begin() as conn:
        conn.execute(update(CaseRow).where(col(CaseRow.id) == tuesday).values(channel="web"))
    everything = ids(db_engine, registry, DLH_ADMIN)
    assert sorted(everything) == sorted([monday, tuesday, odd])
    assert ids(db_engine, registry, DLH_PETUGAS) == [moved]
    assert sorted(ids(db_engine, registry, DLH_ADMIN, channel="web")) == [tuesday]
    assert ids(db_engine, registry, DLH_ADMIN, step="penerimaan") == []
    tuesday_start = clock.now().replace(hour=0, minute=0)
    assert sorted(ids(db_engine, registry, DLH_ADMIN, since=tuesday_start)) == sorted(
        [tuesday, odd]
    )
    assert ids(db_engine, registry, DLH_ADMIN, until=tuesday_start) == [monday]
    search = {
        "jalan KALIURANG": [monday],
        "100%": [tuesday],
        "p_dam": [],  # _ is a character, not a wildcard (which would find "padam")
        "kabel_": [odd],
        "kebersihan": sorted([monday, tuesday, odd]),  # in the fields
        "tidak ada": [],
    }
    for words, expected in search.items():
        assert sorted(ids(db_engine, registry, DLH_ADMIN, search=words)) == expected, words
    number = cases.get(tuesday).tracking_number
    assert re.match(r"^YOG-\d{6}-[A-Z2-9]{6}$", number)
    assert ids(db_engine, registry, DLH_ADMIN, search=number.lower()) == [tuesday]


def test_escalations_and_pauses_on_both_databases(
    db_engine: Engine, registry: Registry, db_cases: CaseEngine, clock: VirtualClock
) -> None:
    cases = db_cases
    late = upik(cases, "Terlambat")
    clock.advance(timedelta(hours=2, minutes=5))
    Sweeper(db_engine, registry, clock).tick()
    with Session(db_engine) as db:
        found = escalations_for(db, ADMIN_PUSAT)
        assert [e.case_id for e in found] == [late]
        assert found[0].role == "admin_pusat" and found[0].case_unit == "dlh"
        assert escalations_for(db, DLH_ADMIN) == []
        assert open_visit_pause(db, late) is None
    cases.act(late, DLH_ADMIN, "terima", {})
    with Session(db_engine) as db:
        assert escalations_for(db, ADMIN_PUSAT) == []  # answered: the case moved on
    cases.act(late, DLH_PETUGAS, "ambil", {})
    cases.pause(late, DLH_PETUGAS, "menunggu_pihak_ketiga")
    with Session(db_engine) as db:
        assert open_visit_pause(db, late) == "menunggu_pihak_ketiga"


def _upload(catalog: Catalog, tmp_text: str, tmp_path_name: str, tmp_dir: object) -> Catalog:
    from pathlib import Path

    path = Path(str(tmp_dir)) / tmp_path_name
    path.write_text(tmp_text, encoding="utf-8")
    return load_catalog([path], extra_regions=[catalog.regions["yogyakarta"]])


@pytest.mark.parametrize("title", ["UPIK revisi"])
def test_an_uploaded_version_lives_in_the_database_only(
    db_engine: Engine,
    registry: Registry,
    catalog: Catalog,
    evaluator: Evaluator,
    clock: VirtualClock,
    tmp_path: object,
    title: str,
) -> None:
    text = (DEFINITIONS / "yogyakarta" / "upik-pengaduan.yaml").read_text(encoding="utf-8")
    text = re.sub(r'^version: ".*"$', 'version: "2031-01-01"', text, count=1, flags=re.M)
    changed = re.sub(r"^title: .*$", f"title: {title}", text, count=1, flags=re.M)
    loaded = _upload(catalog, changed, "upik.yaml", tmp_path)
    assert loaded.ok, loaded.problems
    [new] = loaded.sops.values()
    assert registry.publish_loaded(new, clock.now()) is True
    assert registry.publish_loaded(new, clock.now()) is False
    other = _upload(catalog, text, "upik-lain.yaml", tmp_path)
    with pytest.raises(PublishError, match="already published with other content"):
        registry.publish_loaded(next(iter(other.sops.values())), clock.now())
    # Another process (a fresh registry on the same database) finds and compiles it.
    elsewhere = Registry(db_engine, catalog, evaluator)
    latest = elsewhere.latest("upik-pengaduan")
    assert latest.sop.version == "2031-01-01" and latest.sop.title == title
    case = CaseEngine(db_engine, elsewhere, clock).submit(
        NewCase(
            sop_id="upik-pengaduan",
            channel="jss",
            text="Kasus pada versi baru",
            fields={"kategori": "kebersihan"},
            anonymous=True,
        )
    )
    assert case.sop_version == "2031-01-01"


def test_steps_read_apart_merge_into_one_deadline_order(
    db_engine: Engine, registry: Registry, db_cases: CaseEngine, clock: VirtualClock
) -> None:
    """The petugas waits at two steps (penerimaan 1 x 2 jam, pengerjaan 1 x 24 jam); pages of
    one row each walk both in a single deadline order, on both databases."""
    cases = db_cases
    due: dict[int, object] = {}
    for i in range(5):
        case = upik(cases, f"Laporan {i}")
        cases.act(case, DLH_ADMIN, "terima", {})
        if i % 2:
            cases.act(case, DLH_PETUGAS, "ambil", {})
        clock.advance(timedelta(hours=12))  # so that the two steps' deadlines interleave
    for r in ids_and_due(db_engine, registry):
        due[r[0]] = r[1]
    expected = sorted(due, key=lambda cid: (due[cid], cid))
    seen: list[int] = []
    after = None
    with Session(db_engine) as db:
        scope = queue_scope(db, registry, DLH_PETUGAS)
        while True:
            page = queue_page(db, scope, after=after, limit=1)
            seen += [r.id for r in page.rows]
            if page.next_cursor is None:
                break
            after = page.next_cursor
    assert seen == expected
    steps = [cases.get(cid).step for cid in seen]
    assert steps == ["penerimaan", "penerimaan", "pengerjaan", "penerimaan", "pengerjaan"]


def ids_and_due(db_engine: Engine, registry: Registry) -> list[tuple[int, object]]:
    with Session(db_engine) as db:
        page = queue_page(db, queue_scope(db, registry, DLH_PETUGAS), limit=100)
    return [(r.id, r.due_at) for r in page.rows]
