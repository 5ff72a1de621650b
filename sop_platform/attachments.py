"""Files that come with a case (a citizen's photos): checked by content, stored on disk, listed.

A photo is accepted only if its bytes say it is a JPEG, PNG or WebP image (the magic bytes at its
start; the file name and the type the browser claims are not trusted) and it is no larger than
the limit. Files live under one uploads directory as ``<case id>/<sha256>.<ext>``; the
``attachment`` row is the truth: a file without a row is never listed or opened.

:meth:`AttachmentStore.save` writes all files of a call or none: each file goes to a temporary
name and is renamed into place, then every row is inserted in one transaction; if that fails, the
files this call created are removed again. Saving the same content twice for one case stores it
once, so a resent form (the same idempotency key, the same case) attaches nothing twice.

Who may read an attachment is the caller's business (the web layer checks the case's scope);
this module only stores and opens.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from sop_platform.cases import EngineError, NotFound
from sop_platform.db import transaction
from sop_platform.models import Attachment, CaseRow
from sop_platform.timekeeping import Clock

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 3
# Content type -> the extension stored files get.
PHOTO_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


class InvalidAttachment(EngineError):
    """A file that will not be stored; ``problems`` lists each, in Bahasa Indonesia."""

    code = "invalid_attachment"


def sniff(data: bytes) -> str | None:
    """The image type the bytes themselves declare, or ``None`` if not one we accept."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        return "image/png"
    if len(data) >= 16 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: the name the sender gave and its bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    data: bytes
    sha256: str

    @property
    def stored_name(self) -> str:
        return f"{self.sha256}.{PHOTO_TYPES[self.content_type]}"


@dataclass(frozen=True)
class AttachmentInfo:
    id: int
    case_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime


def clean_filename(name: str, content_type: str) -> str:
    """The sender's file name without any directory part or control characters, shortened."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip().strip(".")
    if not base:
        base = f"foto.{PHOTO_TYPES[content_type]}"
    if len(base) > 200:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else base[:200]
    return base


def size_text(size: int) -> str:
    """A size as people write it: 5 MB, 200 KB, 100 byte."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size} byte"


def check_photos(
    uploads: Sequence[Upload], *, max_bytes: int = MAX_PHOTO_BYTES, max_count: int = MAX_PHOTOS
) -> list[CheckedFile]:
    """Every upload checked (empty file inputs ignored); raise listing every problem at once."""
    present = [u for u in uploads if u.data or u.filename]
    problems: list[str] = []
    problems_en: list[str] = []
    if len(present) > max_count:
        problems.append(f"paling banyak {max_count} foto")
        problems_en.append(f"at most {max_count} photos")
    checked: list[CheckedFile] = []
    limit_mb = size_text(max_bytes)
    for upload in present:
        shown = clean_filename(upload.filename, "image/jpeg") if upload.filename else "(tanpa nama)"
        if not upload.data:
            problems.append(f"berkas '{shown}' kosong")
            problems_en.append(f"file '{shown}' is empty")
            continue
        if len(upload.data) > max_bytes:
            problems.append(f"berkas '{shown}' lebih besar dari {limit_mb}")
            problems_en.append(f"file '{shown}' is larger than {limit_mb}")
            continue
        kind = sniff(upload.data)
        if kind is None:
            problems.append(f"berkas '{shown}' bukan foto JPEG, PNG atau WebP")
            problems_en.append(f"file '{shown}' is not a JPEG, PNG or WebP photo")
            continue
        checked.append(
            CheckedFile(
                filename=clean_filename(upload.filename, kind),
                content_type=kind,
                data=upload.data,
                sha256=hashlib.sha256(upload.data).hexdigest(),
            )
        )
    if problems:
        raise InvalidAttachment(
            "Foto belum dapat diterima: " + "; ".join(problems) + ".",
            "The photos cannot be accepted: " + "; ".join(problems_en) + ".",
            problems=problems,
        )
    return checked


def _info(row: Attachment) -> AttachmentInfo:
    assert row.id is not None
    return AttachmentInfo(
        id=row.id,
        case_id=row.case_id,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        uploaded_at=row.uploaded_at,
    )


class AttachmentStore:
    """Attachments of cases on this database, their files under ``root``."""

    def __init__(self, engine: Engine, root: Path, clock: Clock) -> None:
        self.engine = engine
        self.root = Path(root)
        self.clock = clock

    def save(self, case_id: int, files: Sequence[CheckedFile]) -> list[AttachmentInfo]:
        """Attach checked files to a case: all of them or none. Returns the case's attachments
        for these files (those already attached are returned, not stored again)."""
        if not files:
            return []
        folder = self.root / str(case_id)
        folder.mkdir(parents=True, exist_ok=True)
        created: list[Path] = []
        try:
            for f in files:
                target = folder / f.stored_name
                if target.exists():
                    continue  # content-addressed: the same bytes are already there
                temporary = folder / f".{f.stored_name}.{os.getpid()}.tmp"
                with open(temporary, "wb") as out:
                    out.write(f.data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temporary, target)
                created.append(target)
            try:
                return self._insert(case_id, files)
            except IntegrityError:
                # A concurrent save of the same file won the race; what it stored is ours too.
                return self._insert(case_id, files)
        except BaseException:
            for path in created:
                path.unlink(missing_ok=True)
            for leftover in folder.glob(f".*.{os.getpid()}.tmp"):
                leftover.unlink(missing_ok=True)
            raise

    def _insert(self, case_id: int, files: Sequence[CheckedFile]) -> list[AttachmentInfo]:
        now = self.clock.now()
        with transaction(self.engine) as session:
            if session.get(CaseRow, case_id) is None:
                raise NotFound(f"Kasus {case_id} tidak ditemukan.", f"Case {case_id} not found.")
            existing = {
                row.sha256: row
                for row in session.exec(select(Attachment).where(Attachment.case_id == case_id))
            }
            rows: list[Attachment] = []
            for f in files:
                row = existing.get(f.sha256)
                if row is None:
                    row = Attachment(
                        case_id=case_id,
                        filename=f.filename,
                        content_type=f.content_type,
                        size=len(f.data),
                        sha256=f.sha256,
                        storage_path=f"{case_id}/{f.stored_name}",
                        uploaded_at=now,
                    )
                    session.add(row)
                    existing[f.sha256] = row
                rows.append(row)
            session.flush()
            return [_info(row) for row in rows]

    def for_case(self, case_id: int) -> list[AttachmentInfo]:
        """A case's attachments, oldest first."""
        with transaction(self.engine) as session:
            rows = session.exec(
                select(Attachment)
                .where(Attachment.case_id == case_id)
                .order_by(col(Attachment.uploaded_at), col(Attachment.id))
            ).all()
            return [_info(row) for row in rows]

    def get(self, attachment_id: int) -> AttachmentInfo:
        with transaction(self.engine) as session:
            row = session.get(Attachment, attachment_id)
            if row is None:
                raise NotFound(
                    f"Lampiran {attachment_id} tidak ditemukan.",
                    f"Attachment {attachment_id} not found.",
                )
            return _info(row)

    def open(self, attachment_id: int) -> tuple[AttachmentInfo, BinaryIO]:
        """The attachment and its file opened for reading (the caller closes it)."""
        with transaction(self.engine) as session:
            row = session.get(Attachment, attachment_id)
            if row is None:
                raise NotFound(
                    f"Lampiran {attachment_id} tidak ditemukan.",
                    f"Attachment {attachment_id} not found.",
                )
            info, relative = _info(row), row.storage_path
        root = self.root.resolve()
        path = (root / relative).resolve()
        if root not in path.parents or not path.is_file():
            raise NotFound(
                f"Berkas lampiran {attachment_id} tidak ada.",
                f"The file of attachment {attachment_id} is missing.",
            )
        return info, open(path, "rb")
