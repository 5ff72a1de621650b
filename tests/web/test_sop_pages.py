"""The SOP views (/sop): versions per region, flowchart and official table; and the upload of a new
version by the region's administrator, validated with file:line and published only when valid."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlmodel import Session, select

from sop_platform.models import SopDefinitionRow
from sop_platform.registry import Registry
from tests.conftest import DEFINITIONS
from tests.web.support import DINKES_ADMIN, Reports, csrf, sign_in

UPIK_FILE = DEFINITIONS / "yogyakarta" / "upik-pengaduan.yaml"
ADMIN_DAERAH = "yogyakarta.admin_daerah"


def upload(client: TestClient[Litestar], name: str, text: str, region: str = "yogyakarta") -> Any:
    return client.post(
        "/sop/unggah",
        data={"region": region, "_csrf_token": csrf(client)},
        files={"berkas": (name, text.encode(), "application/yaml")},
    )


def new_version(version: str, title: str = "Pengelolaan pengaduan UPIK (revisi)") -> str:
    text = UPIK_FILE.read_text(encoding="utf-8")
    text = re.sub(r'^version: ".*"$', f'version: "{version}"', text, count=1, flags=re.M)
    return re.sub(r"^title: .*$", f"title: {title}", text, count=1, flags=re.M)


def stored_versions(web_registry: Registry, sop_id: str) -> list[str]:
    with Session(web_registry.engine) as db:
        rows = db.exec(select(SopDefinitionRow).where(SopDefinitionRow.sop_id == sop_id)).all()
        return sorted(r.version for r in rows)


def test_staff_see_their_regions_sops_with_versions(client: TestClient[Litestar]) -> None:
    sign_in(client, DINKES_ADMIN)
    page = client.get("/sop").text
    assert "Pemerintah Kota Yogyakarta" in page
    assert 'href="/sop/upik-pengaduan/2023-09-18"' in page
    assert 'href="/sop/jss-pengaduan/' in page
    assert "/sop/lapor/" not in page  # Jambi's SOP: another region
    assert "/sop/unggah" not in page  # only the region's administrator uploads


def test_an_sop_as_flowchart_and_official_table(client: TestClient[Litestar]) -> None:
    sign_in(client, DINKES_ADMIN)
    page = client.get("/sop/upik-pengaduan/2023-09-18").text
    assert '<svg class="flowchart"' in page
    # Lanes: one per Pelaksana, in the order they first act.
    lanes = re.findall(r'<text class="lane-title"[^>]*>(.*?)</text>', page)
    titles = [re.sub(r"<[^>]+>", " ", lane).split() for lane in lanes]
    assert [" ".join(t) for t in titles] == [
        "Pelapor",
        "Admin Perangkat Daerah",
        "Admin Pusat",
        "Petugas Lapangan",
    ]
    assert "[1 x 2 jam]" in page and "[1 x 24 jam]" in page  # limits on the boxes
    # The table: No., Kegiatan, Pelaksana columns, Mutu Baku, Keterangan; a mark per row.
    table = page.split('<table class="sop-sheet">', 1)[1].split("</table>", 1)[0]
    for head in ("Kegiatan", "Pelaksana", "Mutu Baku", "Kelengkapan", "Waktu", "Output"):
        assert f">{head}<" in table
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>", table.split("<tbody>", 1)[1])
    assert rows == ["1", "2", "3", "3", "4"]  # the document's row numbers
    assert table.count('class="mark"') == 5


def test_an_sop_of_another_region_or_unknown_is_404(client: TestClient[Litestar]) -> None:
    sign_in(client, DINKES_ADMIN)
    assert client.get("/sop/lapor/2022").status_code == 404
    assert client.get("/sop/upik-pengaduan/1999-01-01").status_code == 404


def test_only_the_regions_administrator_may_upload(client: TestClient[Litestar]) -> None:
    sign_in(client, DINKES_ADMIN)
    assert client.get("/sop/unggah").status_code == 403
    assert upload(client, "upik.yaml", new_version("2030-01-01")).status_code == 403
    sign_in(client, "bantul.admin_daerah")
    refused = upload(client, "upik.yaml", new_version("2030-01-01"))
    assert refused.status_code == 422 and "Pilih wilayah Anda." in refused.text


def test_a_valid_new_version_is_published_and_used_by_new_cases_only(
    client: TestClient[Litestar], web_registry: Registry, reports: Reports
) -> None:
    running = reports.upik("kebersihan")
    sign_in(client, ADMIN_DAERAH)
    assert client.get("/sop/unggah").status_code == 200
    response = upload(client, "upik-revisi.yaml", new_version("2030-01-01"))
    assert response.status_code == 201, response.text
    assert "SOP upik-pengaduan versi 2030-01-01 diterbitkan." in response.text
    assert stored_versions(web_registry, "upik-pengaduan") == ["2023-09-18", "2030-01-01"]
    assert web_registry.latest("upik-pengaduan").sop.version == "2030-01-01"
    fresh = reports.upik("kebersihan")
    assert fresh.sop_version == "2030-01-01"
    assert running.sop_version == "2023-09-18"
    page = client.get("/sop/upik-pengaduan/2030-01-01").text
    assert "Pengelolaan pengaduan UPIK (revisi)" in page
    # The same file again changes nothing; the same version with other content is refused.
    again = upload(client, "upik-revisi.yaml", new_version("2030-01-01"))
    assert again.status_code == 200 and "tidak ada perubahan" in again.text
    other = upload(client, "upik-revisi.yaml", new_version("2030-01-01", "Judul lain"))
    assert other.status_code == 422
    assert "already published with other content" in other.text
    assert stored_versions(web_registry, "upik-pengaduan") == ["2023-09-18", "2030-01-01"]


def test_an_invalid_file_shows_every_problem_with_its_line_and_publishes_nothing(
    client: TestClient[Litestar], web_registry: Registry
) -> None:
    text = new_version("2031-01-01").replace("    by: admin_opd\n", "    by: admin_opdx\n", 1)
    line = text.splitlines().index("    by: admin_opdx") + 1
    sign_in(client, ADMIN_DAERAH)
    response = upload(client, "upik-salah.yaml", text, region="yogyakarta")
    assert response.status_code == 422
    assert "SOP tidak diterbitkan" in response.text
    assert f"upik-salah.yaml:{line}:" in response.text
    assert "unknown role &#39;admin_opdx&#39;" in response.text
    assert "sop-upload-" not in response.text  # the temporary path is never shown
    assert stored_versions(web_registry, "upik-pengaduan") == ["2023-09-18"]
    broken = upload(client, "rusak.yaml", "sop: [tidak ditutup\n")
    assert broken.status_code == 422 and "rusak.yaml:" in broken.text
    assert "YAML syntax error" in broken.text
    empty = upload(client, "kosong.yaml", "")
    assert empty.status_code == 422 and "Berkas kosong" in empty.text


def test_an_sop_of_another_region_cannot_be_uploaded_here(client: TestClient[Litestar]) -> None:
    text = new_version("2031-01-01").replace("region: yogyakarta", "region: bantul", 1)
    sign_in(client, ADMIN_DAERAH)
    response = upload(client, "upik.yaml", text)
    assert response.status_code == 422
    assert "not &#39;yogyakarta&#39;" in response.text or "unknown" in response.text
