"""The reporter's rating of the answer: 1 to 5 and a comment, once per case, when it is closed.

A case can be rated once its status is ``done`` or ``rejected`` (a rejected report is closed with
an answer as well: UPIK's Admin Pusat "jawab dan tutup"). Only the reporter may rate; proving
that (the secret tracking link) is the web layer's business. A second rating of the same case is
refused by a unique constraint, so two tabs sending at once still store one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from sop_platform.cases import EngineError, NotFound
from sop_platform.db import transaction
from sop_platform.models import CaseRow, CitizenRating
from sop_platform.timekeeping import Clock

RATABLE_STATUSES = ("done", "rejected")
MAX_COMMENT = 2000


class InvalidRating(EngineError):
    code = "invalid_rating"


class AlreadyRated(EngineError):
    code = "already_rated"


class NotRatable(EngineError):
    code = "not_ratable"


@dataclass(frozen=True)
class Rating:
    case_id: int
    score: int
    comment: str | None
    status_at_rating: str
    created_at: datetime


def _as_rating(row: CitizenRating) -> Rating:
    return Rating(row.case_id, row.score, row.comment, row.status_at_rating, row.created_at)


class Feedback:
    """Ratings on this database."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def rating(self, case_id: int) -> Rating | None:
        with transaction(self.engine) as session:
            row = session.exec(
                select(CitizenRating).where(CitizenRating.case_id == case_id)
            ).first()
            return None if row is None else _as_rating(row)

    def rate(self, case_id: int, score: int | str, comment: str | None = None) -> Rating:
        """Store the rating; raise (and store nothing) when it is invalid, too early or a
        second one."""
        try:
            value = int(str(score).strip())
        except ValueError:
            value = 0
        if not 1 <= value <= 5:
            raise InvalidRating(
                "Nilai harus antara 1 dan 5.", "The rating must be between 1 and 5.", score=score
            )
        text = (comment or "").strip() or None
        if text is not None and len(text) > MAX_COMMENT:
            raise InvalidRating(
                f"Komentar paling banyak {MAX_COMMENT} karakter.",
                f"The comment may have at most {MAX_COMMENT} characters.",
            )
        try:
            with transaction(self.engine) as session:
                case = session.get(CaseRow, case_id)
                if case is None:
                    raise NotFound(
                        f"Kasus {case_id} tidak ditemukan.", f"Case {case_id} not found."
                    )
                if case.status not in RATABLE_STATUSES:
                    raise NotRatable(
                        f"Laporan {case.tracking_number} belum selesai; penilaian dapat diberikan "
                        "setelah laporan selesai ditangani.",
                        f"Report {case.tracking_number} is not closed yet; it can be rated once "
                        "it has been handled.",
                    )
                row = CitizenRating(
                    case_id=case_id,
                    score=value,
                    comment=text,
                    status_at_rating=case.status,
                    created_at=self.clock.now(),
                )
                session.add(row)
                session.flush()
                return _as_rating(row)
        except IntegrityError:
            raise AlreadyRated(
                "Laporan ini sudah dinilai; penilaian hanya sekali.",
                "This report has been rated already; a report is rated once.",
            ) from None
