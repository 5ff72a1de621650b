"""Who sees and does what, for every seed SOP and every demo login: the permission matrix.

Each SOP gets one case at its first step, in the unit the demo's unit staff work for where the
SOP routes there (``dinkes`` in Yogyakarta and Bantul, ``diskominfo`` in Jambi,
``diskominfostik`` in Cirebon), and one more case routed to another unit. Each row of ``MATRIX``
says, as the SOP does, for one login at the first step:

* ``queue``: the case waits in their queue (they are the step's Pelaksana, or informed);
* ``page``: the case page opens (they hold a role of the SOP at the case: in its region and, for
  unit staff, its unit); everyone else gets the same 404 as for an id that does not exist;
* ``actions``: exactly the actions offered to them, and each one of them goes through.

A login of another region, a platform role (``kepatuhan``, ``admin_daerah``: never a case role)
and a citizen's tracking session never open a staff case page. Unit staff never see the other
unit's case, not even by guessing its id, nor its attachments. The SOP pages and the escalation
page follow the same scope.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine

from sop_platform.accounts import actor_for
from sop_platform.attachments import Upload, check_photos
from sop_platform.engine import CaseEngine, CaseView, NewCase, ReporterInfo
from tests.web.support import PASSWORD, csrf, post_form, sign_in
from web.context import Web

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40


@dataclass(frozen=True)
class Submission:
    """How the matrix's case of one SOP is submitted: in the demo unit, and in another one."""

    channel: str
    fields: dict[str, Any]
    other_unit_fields: dict[str, Any] | None  # None: the SOP routes every case to one unit
    reporter: ReporterInfo = field(default_factory=lambda: ReporterInfo(name="Siti Aminah"))
    by: str | None = None  # a staff submitter (Cirebon's Call Taker)


SUBMISSIONS: dict[str, Submission] = {
    "upik-pengaduan": Submission("jss", {"kategori": "kesehatan"}, {"kategori": "kebersihan"}),
    "jss-kedaruratan": Submission(
        "jss",
        {"subtipe": "kegawatdaruratan"},
        {"subtipe": "kebakaran"},
        ReporterInfo(name="Siti", extra={"akun_jss": "siti01"}),
    ),
    "jss-pengaduan": Submission("jss", {"jenis": "pengaduan"}, None),
    "jss-pelayanan-umum": Submission(
        "jss",
        {"layanan": "kesehatan"},
        {"layanan": "perizinan"},
        ReporterInfo(name="Siti", extra={"akun_jss": "siti01"}),
    ),
    "jss-data-informasi": Submission(
        "jss",
        {"kelompok_data": "kesehatan", "data_diminta": "Jumlah puskesmas"},
        {"kelompok_data": "lingkungan", "data_diminta": "Volume sampah"},
        ReporterInfo(name="Siti", extra={"akun_jss": "siti01"}),
    ),
    "lapor": Submission("lapor_web", {}, None, ReporterInfo(name="Siti", email="siti@example.org")),
    "pengaduan-terintegrasi": Submission(
        "lapor_bantul", {"kategori": "kesehatan"}, {"kategori": "lingkungan"}
    ),
    "helpdesk-siaga-112": Submission(
        "telepon", {"aplikasi": "aplikasi_siaga_112"}, None, by="cirebon.call_taker"
    ),
}

# (SOP, login, in the queue, case page opens, actions offered) at the SOP's first step.
# Logins are the demo's: <region>.<role>, unit staff working for the demo unit.
MATRIX: list[tuple[str, str, bool, bool, set[str]]] = [
    # UPIK: verifikasi by the Admin OPD (terima / tolak); Admin Pusat and Petugas see the case.
    ("upik-pengaduan", "yogyakarta.admin_opd", True, True, {"terima", "tolak"}),
    ("upik-pengaduan", "yogyakarta.petugas_lapangan", False, True, set()),
    ("upik-pengaduan", "yogyakarta.admin_pusat", False, True, set()),
    ("upik-pengaduan", "yogyakarta.kepala_daerah", False, False, set()),  # not a UPIK role
    ("upik-pengaduan", "yogyakarta.petugas_teknis", False, False, set()),
    # JSS I Kedaruratan: the Operator Komunikasi forwards to the field (or to another unit).
    (
        "jss-kedaruratan",
        "yogyakarta.operator_komunikasi",
        True,
        True,
        {"teruskan", "teruskan_ke_unit_lain"},
    ),
    ("jss-kedaruratan", "yogyakarta.petugas_lapangan", False, True, set()),
    ("jss-kedaruratan", "yogyakarta.pejabat_struktural", False, True, set()),
    ("jss-kedaruratan", "yogyakarta.admin_opd", False, True, set()),
    ("jss-kedaruratan", "yogyakarta.admin_pusat", False, True, set()),
    ("jss-kedaruratan", "yogyakarta.kepala_daerah", False, True, set()),
    ("jss-kedaruratan", "yogyakarta.petugas_layanan", False, False, set()),
    # JSS II Pengaduan: the Petugas Pengelola Pengaduan forwards; the case is Diskominfosandi's,
    # so the demo's unit staff (dinkes) do not see it at all.
    ("jss-pengaduan", "yogyakarta.pengelola_pengaduan", True, True, {"teruskan"}),
    ("jss-pengaduan", "yogyakarta.admin_pusat", False, True, set()),
    ("jss-pengaduan", "yogyakarta.kepala_daerah", False, True, set()),
    ("jss-pengaduan", "yogyakarta.admin_opd", False, False, set()),
    ("jss-pengaduan", "yogyakarta.petugas_teknis", False, False, set()),
    ("jss-pengaduan", "yogyakarta.pejabat_struktural", False, False, set()),
    # JSS III Pelayanan umum: the Petugas Layanan forwards to the unit's Admin OPD.
    ("jss-pelayanan-umum", "yogyakarta.petugas_layanan", True, True, {"teruskan"}),
    ("jss-pelayanan-umum", "yogyakarta.admin_opd", False, True, set()),
    ("jss-pelayanan-umum", "yogyakarta.pejabat_berwenang", False, True, set()),
    ("jss-pelayanan-umum", "yogyakarta.admin_pusat", False, True, set()),
    ("jss-pelayanan-umum", "yogyakarta.kepala_daerah", False, True, set()),
    ("jss-pelayanan-umum", "yogyakarta.operator_komunikasi", False, False, set()),
    # JSS IV Data & informasi: the unit's Admin OPD provides, re-routes or says it is not there.
    (
        "jss-data-informasi",
        "yogyakarta.admin_opd",
        True,
        True,
        {"berikan", "alihkan", "tidak_tersedia"},
    ),
    ("jss-data-informasi", "yogyakarta.pejabat_struktural", False, True, set()),
    ("jss-data-informasi", "yogyakarta.kepala_daerah", False, True, set()),
    ("jss-data-informasi", "yogyakarta.admin_pusat", False, True, set()),
    ("jss-data-informasi", "yogyakarta.petugas_lapangan", False, False, set()),
    # SP4N-LAPOR! Jambi: step 2 is the Admin Nasional's (outside the region's system).
    ("lapor", "jambi.admin_nasional", True, True, {"teruskan"}),
    ("lapor", "jambi.admin_koordinator", False, True, set()),
    ("lapor", "jambi.pejabat_penghubung", False, True, set()),
    # Bantul: the operator answers at once, gives an interim answer, passes on or re-routes.
    (
        "pengaduan-terintegrasi",
        "bantul.operator",
        True,
        True,
        {"jawab_langsung", "jawaban_sementara", "teruskan", "alihkan"},
    ),
    ("pengaduan-terintegrasi", "bantul.sekretaris_dinas", False, True, set()),
    ("pengaduan-terintegrasi", "bantul.kepala_bidang", False, True, set()),
    ("pengaduan-terintegrasi", "bantul.kepala_dinas", False, True, set()),
    ("pengaduan-terintegrasi", "bantul.tim_pelaksana_kabupaten", False, True, set()),
    # Cirebon Siaga 112: the Kasi E-Government receives the Call Taker's report.
    ("helpdesk-siaga-112", "cirebon.kasi_egov", True, True, {"terima"}),
    ("helpdesk-siaga-112", "cirebon.call_taker", False, True, set()),
    ("helpdesk-siaga-112", "cirebon.jasnita", False, True, set()),
]

SOP_REGION = {
    "upik-pengaduan": "yogyakarta",
    "jss-kedaruratan": "yogyakarta",
    "jss-pengaduan": "yogyakarta",
    "jss-pelayanan-umum": "yogyakarta",
    "jss-data-informasi": "yogyakarta",
    "lapor": "jambi",
    "pengaduan-terintegrasi": "bantul",
    "helpdesk-siaga-112": "cirebon",
}
OTHER_REGION = {"yogyakarta": "bantul.operator", "bantul": "yogyakarta.admin_pusat"}
OTHER_REGION |= {"jambi": "cirebon.kasi_egov", "cirebon": "jambi.admin_koordinator"}
PLATFORM_ROLES = ("kepatuhan", "admin_daerah")


def submit(cases: CaseEngine, sop_id: str, *, other_unit: bool = False) -> CaseView:
    spec = SUBMISSIONS[sop_id]
    fields = spec.other_unit_fields if other_unit else spec.fields
    assert fields is not None
    return cases.submit(
        NewCase(
            sop_id=sop_id,
            channel=spec.channel,
            text=f"Laporan untuk matriks izin ({sop_id})",
            fields=fields,
            reporter=spec.reporter,
            submitted_by=actor_for(cases.engine, spec.by) if spec.by else None,
        )
    )


def entries_for(cases: CaseEngine, case: CaseView, login: str, action: str) -> dict[str, str]:
    """Values for the entries an action requires (a unit for a re-route, text otherwise)."""
    offer = next(
        o
        for o in cases.available_actions(case.id, actor_for(cases.engine, login))
        if o.action == action
    )
    sop = cases.registry.by_hash(case.content_hash).sop
    region = cases.registry.region(case.region)
    out = {}
    for entry in offer.requires:
        spec = sop.fields.get(entry)
        if entry == "unit" or (spec is not None and spec.type.value == "unit"):
            out[f"f_{entry}"] = next(u for u in region.units if u != case.unit)
        elif spec is not None and spec.options:
            out[f"f_{entry}"] = str(spec.options[0])
        else:
            out[f"f_{entry}"] = "Isian untuk matriks izin"
    return out


@pytest.fixture
def staff(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app) as client:
        yield client


def queue_has(client: TestClient[Litestar], case: CaseView) -> bool:
    text = client.get("/antrean").text
    table = text.split('<table class="queue">', 1)
    return len(table) == 2 and f'<a href="/kasus/{case.id}">' in table[1]


def offered(page: str) -> set[str]:
    import re

    return set(re.findall(r'<input type="hidden" name="action" value="([a-z_]+)">', page))


@pytest.mark.parametrize(("sop_id", "login", "queue", "page", "actions"), MATRIX)
def test_matrix_at_the_first_step(
    staff: TestClient[Litestar],
    cases: CaseEngine,
    sop_id: str,
    login: str,
    queue: bool,
    page: bool,
    actions: set[str],
) -> None:
    case = submit(cases, sop_id)
    assert sign_in(staff, login).status_code == 303
    assert queue_has(staff, case) is queue
    response = staff.get(f"/kasus/{case.id}")
    assert response.status_code == (200 if page else 404)
    if not page:
        assert offered(response.text) == set()
        refused = post_form(
            staff, f"/kasus/{case.id}/tindakan", {"action": "x", "revision": str(case.revision)}
        )
        assert refused.status_code == 404
        return
    assert offered(response.text) == actions
    for action in sorted(actions):  # each offered action goes through, on a fresh case
        fresh = submit(cases, sop_id)
        data = {"action": action, "revision": str(fresh.revision)}
        data |= entries_for(cases, fresh, login, action)
        done = post_form(staff, f"/kasus/{fresh.id}/tindakan", data)
        assert done.status_code == 303, (action, done.text[-500:])
        assert cases.get(fresh.id).revision > fresh.revision
    # An action of the step that is not this login's is refused with the engine's reason.
    step = cases.registry.by_hash(case.content_hash).sop.steps[case.step]
    for action in sorted(set(step.actions) - actions):
        data = {"action": action, "revision": str(case.revision)}
        refused = post_form(staff, f"/kasus/{case.id}/tindakan", data)
        assert refused.status_code == 422, action
        assert cases.get(case.id).revision == case.revision


def test_every_demo_staff_login_of_each_sop_is_in_the_matrix(cases: CaseEngine) -> None:
    from sop_platform.demo import staff_roles

    for sop_id, region in SOP_REGION.items():
        sop = cases.registry.latest(sop_id).sop
        covered = {login for s, login, *_ in MATRIX if s == sop_id}
        for role, _ in staff_roles(cases.registry.catalog, region).items():
            if role in sop.roles:
                assert f"{region}.{role}" in covered, (sop_id, role)


@pytest.mark.parametrize("sop_id", sorted(SUBMISSIONS))
def test_another_region_and_platform_roles_never_open_a_case(
    staff: TestClient[Litestar], cases: CaseEngine, sop_id: str
) -> None:
    case = submit(cases, sop_id)
    region = SOP_REGION[sop_id]
    for login in (OTHER_REGION[region], *(f"{region}.{role}" for role in PLATFORM_ROLES)):
        sign_in(staff, login)
        assert not queue_has(staff, case), login
        assert staff.get(f"/kasus/{case.id}").status_code == 404, login
        data = {"action": "x", "revision": str(case.revision)}
        assert post_form(staff, f"/kasus/{case.id}/tindakan", data).status_code == 404
        data = {"kind": "instruct", "instruction": "x", "reason": "x"}
        assert post_form(staff, f"/kasus/{case.id}/intervensi", data).status_code == 404
        assert post_form(staff, f"/kasus/{case.id}/jeda", {"reason": "x"}).status_code == 404


@pytest.mark.parametrize(
    "sop_id", sorted(s for s, spec in SUBMISSIONS.items() if spec.other_unit_fields)
)
def test_unit_staff_never_see_another_units_case_nor_its_files(
    staff: TestClient[Litestar], app: Litestar, cases: CaseEngine, sop_id: str
) -> None:
    mine = submit(cases, sop_id)
    theirs = submit(cases, sop_id, other_unit=True)
    assert mine.unit != theirs.unit
    web: Web = app.state.web
    [photo] = web.attachments.save(theirs.id, check_photos([Upload("foto.png", PNG)]))
    sop = cases.registry.by_hash(mine.content_hash).sop
    region = SOP_REGION[sop_id]
    unit_logins = [
        f"{region}.{role}" for role, r in sop.roles.items() if r.kind.value == "unit_staff"
    ]
    for login in unit_logins:
        sign_in(staff, login)
        assert staff.get(f"/kasus/{mine.id}").status_code == 200, login
        assert staff.get(f"/kasus/{theirs.id}").status_code == 404, login
        assert staff.get(f"/kasus/{theirs.id}/lampiran/{photo.id}").status_code == 404
        assert staff.get(f"/kasus/{mine.id}/lampiran/{photo.id}").status_code == 404
        assert not queue_has(staff, theirs)


def test_a_guessed_id_is_the_same_404_as_a_missing_one(
    staff: TestClient[Litestar], cases: CaseEngine
) -> None:
    theirs = submit(cases, "upik-pengaduan", other_unit=True)  # dlh's
    sign_in(staff, "yogyakarta.admin_opd")  # dinkes
    hidden = staff.get(f"/kasus/{theirs.id}")
    missing = staff.get("/kasus/987654")
    assert hidden.status_code == missing.status_code == 404
    # The same page, byte for byte, but for the path itself (in the language switch's "next").
    assert hidden.text.replace(f"/kasus/{theirs.id}", "/kasus/N") == missing.text.replace(
        "/kasus/987654", "/kasus/N"
    )


@pytest.mark.parametrize(
    ("login", "region_shown", "others"),
    [
        ("yogyakarta.admin_opd", "Pemerintah Kota Yogyakarta", ["/sop/lapor/2022"]),
        ("yogyakarta.kepatuhan", "Pemerintah Kota Yogyakarta", ["/sop/lapor/2022"]),
        ("jambi.admin_koordinator", "Jambi", ["/sop/upik-pengaduan/2023-09-18"]),
    ],
)
def test_sop_pages_are_for_the_staff_of_their_region(
    staff: TestClient[Litestar], login: str, region_shown: str, others: list[str]
) -> None:
    sign_in(staff, login)
    listing = staff.get("/sop")
    assert listing.status_code == 200 and region_shown in listing.text
    for url in others:
        assert staff.get(url).status_code == 404


@pytest.mark.parametrize(
    ("login", "may_upload"),
    [
        ("yogyakarta.admin_daerah", True),
        ("yogyakarta.kepatuhan", False),
        ("yogyakarta.admin_pusat", False),
        ("yogyakarta.kepala_daerah", False),
        ("bantul.admin_daerah", True),  # for Bantul only (tests/web/test_sop_pages.py)
    ],
)
def test_only_admin_daerah_opens_the_upload(
    staff: TestClient[Litestar], login: str, may_upload: bool
) -> None:
    sign_in(staff, login)
    assert staff.get("/sop/unggah").status_code == (200 if may_upload else 403)


def test_pages_need_a_sign_in(staff: TestClient[Litestar], cases: CaseEngine) -> None:
    case = submit(cases, "upik-pengaduan")
    for url in ("/antrean", "/eskalasi", "/sop", f"/kasus/{case.id}", "/sop/unggah"):
        response = staff.get(url, follow_redirects=False)
        assert response.status_code == 303, url
        assert response.headers["location"].startswith("/masuk?next=")
    csrf(staff)
    assert PASSWORD  # the demo password signs in (used by sign_in above)


def test_escalation_page_scope(
    staff: TestClient[Litestar], cases: CaseEngine, web_engine: Engine
) -> None:
    from datetime import timedelta

    from sop_platform.sweeper import Sweeper

    late = submit(cases, "upik-pengaduan")
    clock = cases.clock
    clock.advance(timedelta(hours=3))  # type: ignore[attr-defined]
    Sweeper(web_engine, cases.registry, clock).tick()
    for login, sees in [
        ("yogyakarta.admin_pusat", True),  # the UPIK ladder's rung
        ("yogyakarta.admin_opd", False),
        ("yogyakarta.kepala_daerah", False),  # not on UPIK's ladder
        ("bantul.operator", False),
    ]:
        sign_in(staff, login)
        page = staff.get("/eskalasi")
        assert page.status_code == 200
        assert (late.tracking_number in page.text) is sees, login
