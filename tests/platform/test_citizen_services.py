"""Photo attachments and ratings on SQLite and PostgreSQL: checked by content, all or nothing,
once per case."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from sop_platform.attachments import (
    AttachmentStore,
    InvalidAttachment,
    Upload,
    check_photos,
    clean_filename,
    size_text,
    sniff,
)
from sop_platform.cases import Grant, NewCase, NotFound
from sop_platform.engine import Actor, CaseEngine
from sop_platform.feedback import AlreadyRated, Feedback, InvalidRating, NotRatable
from sop_platform.models import Attachment, CitizenRating
from sop_platform.timekeeping import VirtualClock

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 64
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 40


def _upik(cases: CaseEngine) -> int:
    view = cases.submit(
        NewCase(
            sop_id="upik-pengaduan",
            channel="jss",
            text="Lampu jalan mati",
            fields={"kategori": "infrastruktur"},
            anonymous=True,
        )
    )
    return view.id


def _count(engine: Engine, table: type) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def test_the_type_comes_from_the_bytes_not_the_name() -> None:
    assert sniff(JPEG) == "image/jpeg"
    assert sniff(PNG) == "image/png"
    assert sniff(WEBP) == "image/webp"
    assert sniff(b"GIF89a" + b"\x00" * 20) is None
    assert sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None
    # A script named like a photo is refused; a photo named like a document is a photo.
    with pytest.raises(InvalidAttachment) as refused:
        check_photos([Upload("foto.jpg", b"#!/bin/sh\nrm -rf /\n")])
    assert "bukan foto JPEG, PNG atau WebP" in refused.value.message
    (checked,) = check_photos([Upload("laporan.pdf", PNG)])
    assert (checked.content_type, checked.stored_name[-4:]) == ("image/png", ".png")


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(InvalidAttachment) as refused:
        check_photos(
            [Upload("a.jpg", JPEG), Upload("besar.png", PNG + b"\x00" * 200), Upload("k.jpg", b"")],
            max_bytes=100,
            max_count=2,
        )
    problems = refused.value.details["problems"]
    assert problems == [
        "paling banyak 2 foto",
        "berkas 'besar.png' lebih besar dari 100 byte",
        "berkas 'k.jpg' kosong",
    ]
    assert "at most 2 photos" in refused.value.message_en
    # An empty file input (no name, no bytes) is no upload at all.
    assert check_photos([Upload("", b"")]) == []
    assert [size_text(n) for n in (5 * 1024 * 1024, 1536, 100)] == ["5 MB", "1.5 KB", "100 byte"]


def test_file_names_lose_their_directories() -> None:
    assert clean_filename("../../etc/passwd.jpg", "image/jpeg") == "passwd.jpg"
    assert clean_filename("C:\\Users\\budi\\IMG_01.JPG", "image/jpeg") == "IMG_01.JPG"
    assert clean_filename("\x00\x1f", "image/png") == "foto.png"
    assert len(clean_filename("a" * 300 + ".webp", "image/webp")) == 200


def test_photos_are_stored_and_opened(
    cases: CaseEngine, db_engine: Engine, clock: VirtualClock, tmp_path: Path
) -> None:
    store = AttachmentStore(db_engine, tmp_path / "uploads", clock)
    case_id = _upik(cases)
    saved = store.save(case_id, check_photos([Upload("jalan.jpg", JPEG), Upload("b.png", PNG)]))
    assert [(a.filename, a.content_type, a.size) for a in saved] == [
        ("jalan.jpg", "image/jpeg", len(JPEG)),
        ("b.png", "image/png", len(PNG)),
    ]
    assert store.for_case(case_id) == saved
    info, handle = store.open(saved[0].id)
    with handle:
        assert handle.read() == JPEG
    assert info == saved[0]
    assert (tmp_path / "uploads" / str(case_id) / f"{saved[0].sha256}.jpg").read_bytes() == JPEG
    # The same photo again (a resent form) is stored once.
    again = store.save(case_id, check_photos([Upload("lagi.jpg", JPEG)]))
    assert again == [saved[0]]
    assert _count(db_engine, Attachment) == 2
    with pytest.raises(NotFound):
        store.open(saved[-1].id + 100)


def test_nothing_is_half_written(
    cases: CaseEngine, db_engine: Engine, clock: VirtualClock, tmp_path: Path
) -> None:
    root = tmp_path / "uploads"
    store = AttachmentStore(db_engine, root, clock)
    # No such case: no row, and the files written for it are gone again.
    with pytest.raises(NotFound):
        store.save(987654, check_photos([Upload("a.jpg", JPEG), Upload("b.webp", WEBP)]))
    assert _count(db_engine, Attachment) == 0
    assert list((root / "987654").iterdir()) == []
    # A file removed behind the store's back is reported, not served.
    case_id = _upik(cases)
    (saved,) = store.save(case_id, check_photos([Upload("a.jpg", JPEG)]))
    (root / str(case_id) / f"{saved.sha256}.jpg").unlink()
    with pytest.raises(NotFound) as missing:
        store.open(saved.id)
    assert "missing" in missing.value.message_en


def _close(cases: CaseEngine, case_id: int) -> None:
    admin = Actor("Admin", (Grant("yogyakarta", "admin_opd", "dpupkp"),))
    petugas = Actor("Petugas", (Grant("yogyakarta", "petugas_lapangan", "dpupkp"),))
    cases.act(case_id, admin, "terima")
    cases.act(case_id, petugas, "ambil")
    cases.act(case_id, petugas, "selesai", {"jawaban": "Lampu sudah diganti."})


def test_a_closed_case_is_rated_once(
    cases: CaseEngine, db_engine: Engine, clock: VirtualClock
) -> None:
    feedback = Feedback(db_engine, clock)
    case_id = _upik(cases)
    with pytest.raises(NotRatable):
        feedback.rate(case_id, 5)
    _close(cases, case_id)
    assert feedback.rating(case_id) is None
    rating = feedback.rate(case_id, "4", "  Cepat, terima kasih.  ")
    assert (rating.score, rating.comment, rating.status_at_rating) == (
        4,
        "Cepat, terima kasih.",
        "done",
    )
    assert feedback.rating(case_id) == rating
    with pytest.raises(AlreadyRated):
        feedback.rate(case_id, 1, "lagi")
    assert _count(db_engine, CitizenRating) == 1


@pytest.mark.parametrize("score", [0, 6, "lima", "", -1])
def test_a_bad_rating_is_refused_and_writes_nothing(
    cases: CaseEngine, db_engine: Engine, clock: VirtualClock, score: object
) -> None:
    feedback = Feedback(db_engine, clock)
    case_id = _upik(cases)
    _close(cases, case_id)
    with pytest.raises(InvalidRating):
        feedback.rate(case_id, score)  # type: ignore[arg-type]
    with pytest.raises(InvalidRating):
        feedback.rate(case_id, 3, "x" * 2001)
    with pytest.raises(NotFound):
        feedback.rate(case_id + 1000, 3)
    assert _count(db_engine, CitizenRating) == 0


def test_two_ratings_at_once_store_one(
    cases: CaseEngine, db_engine: Engine, clock: VirtualClock
) -> None:
    feedback = Feedback(db_engine, clock)
    case_id = _upik(cases)
    _close(cases, case_id)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def rate(score: int) -> None:
        barrier.wait()
        try:
            feedback.rate(case_id, score)
            outcomes.append("stored")
        except AlreadyRated:
            outcomes.append("refused")

    threads = [threading.Thread(target=rate, args=(n,)) for n in (2, 3, 4, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "refused", "refused", "stored"]
    assert _count(db_engine, CitizenRating) == 1


def test_an_answered_rejection_can_be_rated(
    cases: CaseEngine, db_engine: Engine, clock: VirtualClock
) -> None:
    case_id = _upik(cases)
    admin = Actor("Admin", (Grant("yogyakarta", "admin_opd", "dpupkp"),))
    pusat = Actor("Admin Pusat", (Grant("yogyakarta", "admin_pusat"),))
    cases.act(case_id, admin, "tolak", {"alasan": "Bukan kewenangan kami"})
    cases.act(case_id, pusat, "jawab_dan_tutup", {"jawaban": "Ini kewenangan pemerintah pusat."})
    rating = Feedback(db_engine, clock).rate(case_id, 2)
    assert rating.status_at_rating == "rejected"
