"""SOP views for authors and administrators: the regions' SOPs with their versions, each version as
a flowchart and as the official SOP table, and the upload of a new version.

Any signed-in staff member of a region sees that region's SOPs (every published version, also
those uploaded here, which live only in the database). Only the region's ``admin_daerah`` may
upload: the file is validated exactly as ``sop validate`` does (every problem with its line),
and published only when it has none. The same version with other content is refused.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body, FromPath
from sqlmodel import Session, col, select

from rules.loader import LoadedSop, load_catalog
from rules.sheet import sheet
from sop_platform.cases import Actor
from sop_platform.models import SopDefinitionRow
from sop_platform.registry import PublishError
from sop_platform.roles import ADMIN_DAERAH, holds
from web import i18n
from web.context import Web, blocking, lang_of, page, web_of
from web.diagram import render

MAX_UPLOAD = 512 * 1024  # an SOP file is a few kilobytes; this is generous
MULTIPART = Body(media_type=RequestEncodingType.MULTI_PART)


@dataclass(frozen=True)
class VersionItem:
    sop_id: str
    version: str
    title: str
    published: str
    newest: bool


def _regions(actor: Actor) -> list[str]:
    return sorted({g.region for g in actor.grants if g.case_id is None})


def _versions(web: Web, regions: list[str]) -> dict[str, list[VersionItem]]:
    with Session(web.engine) as db:
        rows = db.exec(
            select(SopDefinitionRow)
            .where(col(SopDefinitionRow.region_id).in_(regions))
            .order_by(col(SopDefinitionRow.sop_id), col(SopDefinitionRow.version).desc())
        ).all()
    out: dict[str, list[VersionItem]] = {r: [] for r in regions}
    seen: set[str] = set()
    for row in rows:
        out[row.region_id].append(
            VersionItem(
                row.sop_id,
                row.version,
                row.title,
                web.registry.local_text(row.published_at, row.region_id),
                row.sop_id not in seen,
            )
        )
        seen.add(row.sop_id)
    return out


@get("/sop", name="sop_list")
async def sop_list(
    request: Request[Any, Any, Any], state: State, actor: NamedDependency[Actor]
) -> Response[Any]:
    web = web_of(state)
    regions = _regions(actor)
    versions = await blocking(_versions, web, regions)
    context = {
        "regions": [
            (rid, web.registry.region(rid).name, versions[rid], holds(actor, ADMIN_DAERAH, rid))
            for rid in regions
        ],
    }
    return page(request, "sop_daftar.html", context)


def _stored(web: Web, actor: Actor, sop_id: str, version: str) -> SopDefinitionRow:
    """The stored version, if the actor is staff of its region; else the same 404."""
    with Session(web.engine) as db:
        row = db.exec(
            select(SopDefinitionRow).where(
                SopDefinitionRow.sop_id == sop_id, SopDefinitionRow.version == version
            )
        ).first()
    if row is None or row.region_id not in _regions(actor):
        raise NotFoundException()
    return row


def _sop_context(web: Web, actor: Actor, sop_id: str, version: str) -> dict[str, Any]:
    row = _stored(web, actor, sop_id, version)
    sop = web.registry.by_hash(row.content_hash, row).sop
    region = web.registry.region(sop.region)
    return {
        "sop": sop,
        "region_name": region.name,
        "published": web.registry.local_text(row.published_at, row.region_id),
        "flowchart": render(sop),
        "sheet": sheet(sop),
        "roles": [(rid, r.title or rid, r.kind.value) for rid, r in sop.roles.items()],
    }


@get("/sop/{sop_id:str}/{version:str}", name="sop_view")
async def sop_view(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    sop_id: FromPath[str],
    version: FromPath[str],
) -> Response[Any]:
    context = await blocking(_sop_context, web_of(state), actor, sop_id, version)
    return page(request, "sop.html", context)


# --- upload ----------------------------------------------------------------------------------


def _upload_regions(actor: Actor) -> list[str]:
    return [r for r in _regions(actor) if holds(actor, ADMIN_DAERAH, r)]


@get("/sop/unggah", name="sop_upload_form")
async def sop_upload_form(
    request: Request[Any, Any, Any], state: State, actor: NamedDependency[Actor]
) -> Response[Any]:
    regions = _upload_regions(actor)
    if not regions:
        raise PermissionDeniedException()
    return page(request, "sop_unggah.html", _upload_context(web_of(state), regions))


def _upload_context(web: Web, regions: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "upload_regions": [(r, web.registry.region(r).name) for r in regions],
        "problems": [],
        "published": None,
        "message": None,
        **extra,
    }


@post("/sop/unggah", name="sop_upload")
async def sop_upload(
    request: Request[Any, Any, Any],
    state: State,
    actor: NamedDependency[Actor],
    data: Annotated[dict[str, Any], MULTIPART],
) -> Response[Any]:
    regions = _upload_regions(actor)
    if not regions:
        raise PermissionDeniedException()
    upload = data.get("berkas")
    name, content = "", b""
    if isinstance(upload, UploadFile):
        name = PurePath(upload.filename or "").name
        content = await upload.read(MAX_UPLOAD + 1)
    region = str(data.get("region") or "")
    web = web_of(state)
    status, context = await blocking(
        _publish_upload, web, regions, region, name, content, lang_of(request)
    )
    return page(request, "sop_unggah.html", context, block="upload_result", status_code=status)


def _publish_upload(
    web: Web, regions: list[str], region: str, name: str, content: bytes, lang: str
) -> tuple[int, dict[str, Any]]:
    """Validate the uploaded file against its region; publish it only when it has no problem."""
    t = i18n.translator(lang)

    def refused(message: str, problems: list[str] | None = None) -> tuple[int, dict[str, Any]]:
        return 422, _upload_context(web, regions, message=message, problems=problems or [])

    if region not in regions:
        return refused(t("sopup.bad_region"))
    if not content:
        return refused(t("sopup.empty"))
    if len(content) > MAX_UPLOAD:
        return refused(t("sopup.too_large", MAX_UPLOAD // 1024))
    if not name.endswith((".yaml", ".yml")):
        name = (name or "sop") + ".yaml"
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return refused(t("sopup.not_text"))
    loaded, problems = validate_upload(web, region, name, text)
    if problems:
        return refused(t("sopup.invalid", len(problems)), problems)
    assert loaded is not None
    try:
        added = web.registry.publish_loaded(loaded, web.clock.now())
    except PublishError as err:
        return refused(str(err))
    published = (loaded.sop.sop, loaded.sop.version, loaded.sop.title)
    key = "sopup.published" if added else "sopup.unchanged"
    return (201 if added else 200), _upload_context(
        web, regions, published=published, message=t(key, loaded.sop.sop, loaded.sop.version)
    )


def validate_upload(
    web: Web, region: str, name: str, text: str
) -> tuple[LoadedSop | None, list[str]]:
    """The SOP in ``text`` checked as the validator checks a file of ``region``'s folder.

    Problems read ``<name>:<line>:<column>: message (hint)``, as ``sop validate`` prints them.
    """
    with tempfile.TemporaryDirectory(prefix="sop-upload-") as tmp:
        path = Path(tmp) / name
        path.write_text(text, encoding="utf-8")
        catalog = load_catalog([path], extra_regions=[web.registry.region(region)])
        problems = [str(p).replace(str(path), name) for p in catalog.problems]
    found = list(catalog.sops.values())
    if not problems and len(found) != 1:
        problems = [f"{name}:1:1: not an SOP file (no 'sop:' key)"]
    if not problems and found[0].sop.region != region:
        problems = [
            f"{name}:1:1: the SOP belongs to region '{found[0].sop.region}', not '{region}'"
        ]
    return (found[0] if not problems else None), problems


ROUTES = [sop_list, sop_upload_form, sop_upload, sop_view]
