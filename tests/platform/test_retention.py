"""The retention job on SQLite and PostgreSQL: personal data of closed cases past the SOP's period
is erased, the conformance figures stay exactly as they were, and a second run does nothing."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from rules.evaluator import Evaluator
from rules.loader import Catalog
from sop_platform.cases import Actor, CaseView, Grant, NewCase, ReporterInfo
from sop_platform.cli import main
from sop_platform.db import make_engine
from sop_platform.engine import CaseEngine
from sop_platform.migrate import upgrade
from sop_platform.models import (
    Attachment,
    AuditEntry,
    CaseEvent,
    CaseRow,
    Reporter,
    ServiceRequestRow,
    StepVisit,
)
from sop_platform.personal_data import citizen_export
from sop_platform.registry import Registry
from sop_platform.retention import (
    SERVICE_REQUEST_PERSONAL,
    RetentionJob,
    run_forever,
    scrub_payload,
    scrub_values,
)
from sop_platform.timekeeping import VirtualClock
from sop_platform.workers import Workers
from tests.conftest import DEFINITIONS

UPIK = "upik-pengaduan"
REGION = "yogyakarta"
ADMIN_OPD = Actor("Admin OPD", (Grant(REGION, "admin_opd", "dinkes"),))
PETUGAS = Actor("Petugas", (Grant(REGION, "petugas_lapangan", "dinkes"),))


def submit(
    cases: CaseEngine, *, anonymous: bool = False, text: str = "Puskesmas tutup"
) -> CaseView:
    return cases.submit(
        NewCase(
            sop_id=UPIK,
            channel="jss",
            text=text,
            fields={"kategori": "kesehatan"},
            reporter=None
            if anonymous
            else ReporterInfo(
                name="Budi Santoso", nik="3471010101010001", email="budi@example.org"
            ),
            anonymous=anonymous,
        )
    )


def close(cases: CaseEngine, clock: VirtualClock, case: CaseView) -> None:
    cases.act(case.id, ADMIN_OPD, "terima", {})
    clock.advance(timedelta(minutes=30))
    cases.act(case.id, PETUGAS, "ambil", {})
    clock.advance(timedelta(hours=3))
    cases.act(case.id, PETUGAS, "selesai", {"jawaban": "Sudah dibuka lagi, Pak Budi (0812 555)"})


def conformance(engine: Engine, case_id: int) -> dict[str, Any]:
    """Everything the conformance figures are computed from."""
    with Session(engine) as session:
        case = session.get(CaseRow, case_id)
        assert case is not None
        visits = session.exec(
            select(StepVisit).where(StepVisit.case_id == case_id).order_by(col(StepVisit.id))
        ).all()
        events = session.exec(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.seq))
        ).all()
        return {
            "case": {
                k: getattr(case, k)
                for k in (
                    "tracking_number",
                    "region_id",
                    "sop_id",
                    "sop_version",
                    "content_hash",
                    "step",
                    "status",
                    "unit_key",
                    "channel",
                    "anonymous",
                    "confidential",
                    "revision",
                    "created_at",
                    "updated_at",
                    "closed_at",
                )
            },
            "kategori": case.fields.get("kategori"),
            "visits": [v.model_dump() for v in visits],
            "events": [{k: v for k, v in e.model_dump().items() if k != "payload"} for e in events],
        }


def add_attachment(engine: Engine, uploads: Path, case_id: int, now: Any) -> Path:
    folder = uploads / str(case_id)
    folder.mkdir(parents=True)
    path = folder / ("a" * 64 + ".jpg")
    path.write_bytes(b"\xff\xd8\xff photo of the reporter's house")
    with Session(engine) as session:
        session.add(
            Attachment(
                case_id=case_id,
                filename="rumah-budi.jpg",
                content_type="image/jpeg",
                size=path.stat().st_size,
                sha256="a" * 64,
                storage_path=f"{case_id}/{path.name}",
                uploaded_at=now,
            )
        )
        session.commit()
    return path


def row(engine: Engine, model: type, ident: int) -> Any:
    with Session(engine) as session:
        return session.get(model, ident)


def test_expired_personal_data_is_erased_and_the_figures_stay(
    db_engine: Engine,
    registry: Registry,
    cases: CaseEngine,
    clock: VirtualClock,
    tmp_path: Path,
) -> None:
    uploads = tmp_path / "uploads"
    old = submit(cases)
    photo = add_attachment(db_engine, uploads, old.id, clock.now())
    with Session(db_engine) as session:
        session.add(
            ServiceRequestRow(
                case_id=old.id,
                token="tok-123",
                lat=-7.8,
                long=110.36,
                address="Gang Mawar 3, rumah Pak Budi",
                device_id="android-abc",
                account_id="budi-jss",
                media_url="https://example.org/foto.jpg",
            )
        )
        session.commit()
    close(cases, clock, old)
    anonymous = submit(cases, anonymous=True, text="Anonim: antrean panjang")
    close(cases, clock, anonymous)
    still_open = submit(cases)
    reporter_id = row(db_engine, CaseRow, old.id).reporter_id
    assert reporter_id is not None
    closed_at = row(db_engine, CaseRow, old.id).closed_at
    before = {cid: conformance(db_engine, cid) for cid in (old.id, anonymous.id, still_open.id)}

    job = RetentionJob(db_engine, registry, clock, uploads)
    clock.set(closed_at + timedelta(days=365 * 2) - timedelta(minutes=1))  # 2024 has no 29 Feb
    assert job.run().count == 0, "not yet two years after closing"

    clock.set(closed_at + timedelta(days=2 * 365 + 1))
    dry = job.run(dry_run=True)
    assert [e.case_id for e in dry.erased] == [old.id, anonymous.id]
    assert row(db_engine, Reporter, reporter_id) is not None, "a dry run changes nothing"
    assert row(db_engine, CaseRow, old.id).personal_data_erased_at is None

    result = job.run()
    assert [e.tracking_number for e in result.erased] == [
        old.tracking_number,
        anonymous.tracking_number,
    ]
    assert result.erased[0].files == 1 and not photo.exists()

    erased = row(db_engine, CaseRow, old.id)
    assert erased.text == "" and erased.reporter_id is None and erased.request_hash is None
    assert erased.fields == {"kategori": "kesehatan"}
    assert erased.personal_data_erased_at == clock.now()
    assert row(db_engine, Reporter, reporter_id) is None
    with Session(db_engine) as session:
        assert session.exec(select(Attachment)).all() == []
        payloads = [
            e.payload
            for e in session.exec(select(CaseEvent).where(CaseEvent.case_id == old.id)).all()
        ]
        audit = session.exec(select(AuditEntry)).all()
    assert "Pak Budi" not in repr(payloads) and "jawaban" not in repr(payloads)
    assert all(p.get("fields", {}).get("kategori") in (None, "kesehatan") for p in payloads)
    with Session(db_engine) as session:
        request = session.exec(
            select(ServiceRequestRow).where(ServiceRequestRow.case_id == old.id)
        ).one()
    assert request.token == "tok-123", "the Open311 token still finds the case"
    assert all(getattr(request, name) is None for name in SERVICE_REQUEST_PERSONAL)
    assert row(db_engine, CaseRow, anonymous.id).text == ""
    assert row(db_engine, CaseRow, still_open.id).text == "Puskesmas tutup"
    assert row(db_engine, CaseRow, still_open.id).reporter_id is not None

    after = {cid: conformance(db_engine, cid) for cid in before}
    assert after == before, "steps, visits, times, outcomes, unit, channel, category untouched"
    assert {v["outcome"] for v in before[old.id]["visits"]} >= {"met"}

    [entry] = audit
    assert entry.action == "retention.erase" and entry.region_id == REGION
    assert entry.after == {"cases": [old.tracking_number, anonymous.tracking_number]}

    again = job.run()
    assert again.count == 0, "a second run finds nothing to do"
    assert conformance(db_engine, old.id) == before[old.id]


def test_an_sop_without_retention_keeps_personal_data(
    db_engine: Engine,
    catalog: Catalog,
    registry: Registry,
    cases: CaseEngine,
    clock: VirtualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = submit(cases)
    close(cases, clock, case)
    real = registry.by_hash

    def without_retention(content_hash: str, *args: Any, **kwargs: Any) -> Any:
        compiled = real(content_hash, *args, **kwargs)
        return dataclasses.replace(
            compiled, sop=compiled.sop.model_copy(update={"retention": None})
        )

    monkeypatch.setattr(registry, "by_hash", without_retention)
    clock.advance(timedelta(days=3650))
    assert RetentionJob(db_engine, registry, clock).run().count == 0
    assert row(db_engine, CaseRow, case.id).text == "Puskesmas tutup"


def test_what_is_kept_is_what_the_figures_group_by(catalog: Catalog) -> None:
    sop = catalog.latest()["jss-kedaruratan"].sop
    text_fields = [n for n, f in sop.fields.items() if f.type.value in ("text", "date")]
    choice_fields = [n for n, f in sop.fields.items() if f.type.value == "choice"]
    assert text_fields and choice_fields
    values = {name: "x" for name in [*text_fields, *choice_fields, "jawaban", "unit", "nama"]}
    assert set(scrub_values(sop, values)) == {*choice_fields, "unit"}
    payload = {
        "entries": {"jawaban": "Pak Budi", "unit": "dinkes"},
        "note": "rumahnya di gang 3",
        "reason": "salah alamat, pelapor Budi",
        "request_id": "r-1",
    }
    assert scrub_payload(sop, "intervention", payload) == {
        "entries": {"unit": "dinkes"},
        "request_id": "r-1",
    }
    pause = {"reason": "menunggu_pihak_ketiga", "note": "telepon Budi"}
    assert scrub_payload(sop, "pause", pause) == {"reason": "menunggu_pihak_ketiga"}


def test_the_periodic_run_erases_what_expires(
    db_engine: Engine, registry: Registry, cases: CaseEngine, clock: VirtualClock
) -> None:
    case = submit(cases)
    close(cases, clock, case)
    clock.advance(timedelta(days=800))
    stop = threading.Event()
    worker = threading.Thread(
        target=run_forever, args=(RetentionJob(db_engine, registry, clock), stop, 0.05)
    )
    worker.start()
    try:
        for _ in range(200):
            if row(db_engine, CaseRow, case.id).personal_data_erased_at is not None:
                break
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(5)
    assert not worker.is_alive()
    assert row(db_engine, CaseRow, case.id).text == ""


def test_the_command_lists_erases_and_then_finds_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    catalog: Catalog,
    evaluator: Evaluator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SOP_DATABASE_URL", url)
    monkeypatch.setenv("SOP_DEFINITIONS", str(DEFINITIONS))
    engine = make_engine(url)
    upgrade(engine)
    past = VirtualClock(datetime(2022, 3, 1, 9, 0, tzinfo=UTC))  # closed long ago
    reg = Registry(engine, catalog, evaluator)
    reg.publish(past.now())
    old = submit(CaseEngine(engine, reg, past))
    close(CaseEngine(engine, reg, past), past, old)
    engine.dispose()

    assert main(["retention", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would erase {old.tracking_number} (upik-pengaduan, closed 2022-03-01" in out
    assert "1 case would erase" in out
    assert main(["retention", "--uploads", str(tmp_path / "uploads")]) == 0
    assert "1 case erased" in capsys.readouterr().out
    assert main(["retention"]) == 0
    assert "0 cases erased" in capsys.readouterr().out


def test_the_application_process_runs_the_job_beside_the_sweeper(
    db_engine: Engine, registry: Registry, cases: CaseEngine, clock: VirtualClock, tmp_path: Path
) -> None:
    case = submit(cases)
    close(cases, clock, case)
    clock.advance(timedelta(days=800))
    workers = Workers(db_engine, registry, clock, retention_interval=0.05, uploads_dir=tmp_path)
    workers.start()
    try:
        assert "sop-retention" in {t.name for t in workers._threads}
        for _ in range(200):
            if row(db_engine, CaseRow, case.id).personal_data_erased_at is not None:
                break
            time.sleep(0.05)
    finally:
        workers.stop()
    assert row(db_engine, CaseRow, case.id).text == ""
    off = Workers(db_engine, registry, clock, retention_interval=0)
    off.start()
    try:
        assert "sop-retention" not in {t.name for t in off._threads}
    finally:
        off.stop()


def test_the_reporters_export_holds_what_an_application_sent_until_erasure(
    db_engine: Engine, registry: Registry, cases: CaseEngine, clock: VirtualClock
) -> None:
    case = submit(cases)
    with Session(db_engine) as session:
        session.add(
            ServiceRequestRow(case_id=case.id, token="tok-9", device_id="android-abc", lat=-7.8)
        )
        session.commit()
    before = citizen_export(db_engine, registry, case.id, clock.now())
    assert before["reporter"]["nik"] == "3471010101010001"
    assert before["sent_by_an_application"]["device_id"] == "android-abc"
    close(cases, clock, case)
    clock.advance(timedelta(days=800))
    RetentionJob(db_engine, registry, clock).run()
    after = citizen_export(db_engine, registry, case.id, clock.now())
    assert after["reporter"] is None and after["report"]["text"] == ""
    assert after["sent_by_an_application"]["device_id"] is None
    assert after["sent_by_an_application"]["lat"] is None
    erased_at = datetime.fromisoformat(after["retention"]["personal_data_erased_at"])
    assert erased_at == clock.now()
