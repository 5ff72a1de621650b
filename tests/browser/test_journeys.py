"""The journeys of the issue, in real Chromium: a UPIK complaint from the citizen's form (with a
photo) through the unit admin and the field officer to the citizen's answer and rating; a
rejection that Admin Pusat answers and re-routes; a breach in the queue; the language switch;
keyboard use; the pages on a phone. Screenshots of the main pages go to the artifacts folder."""

from __future__ import annotations

import re
import struct
import zlib
from datetime import timedelta
from typing import Any

from playwright.sync_api import expect
from sqlmodel import Session, select

from sop_platform.models import Attachment, CitizenRating
from tests.browser.conftest import People, Site, shot

UPIK_FORM = "/lapor/upik-pengaduan"
WATCH_PROGRESS = """() => {
  sessionStorage.removeItem("progress-seen");
  const form = document.querySelector("#report-form");
  const seen = () => {
    const shown = document.querySelector("#kirim-progress");
    const button = form.querySelector("button[type=submit]");
    if (shown && getComputedStyle(shown).display !== "none" && button.disabled) {
      sessionStorage.setItem("progress-seen", "yes");
    }
  };
  new MutationObserver(seen).observe(form, {subtree: true, attributes: true});
}"""


def png(width: int = 24, height: int = 16) -> bytes:
    """A real (tiny, orange) PNG, so the browser sends an image a viewer could open."""
    raw = b"".join(b"\x00" + b"\xf2\xa9\x00" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def report_upik(page: Any, kategori: str, text: str, *, photo: bool = False) -> tuple[str, str]:
    """Fill and send the UPIK form; the tracking number and the secret link."""
    page.goto(UPIK_FORM)
    page.get_by_label("Kategori aduan").select_option(kategori)
    page.get_by_label("Isi laporan").fill(text)
    if photo:
        page.locator("#in-foto").set_input_files(
            {"name": "jalan-rusak.png", "mimeType": "image/png", "buffer": png()}
        )
    page.get_by_label("Nama").first.fill("Siti Aminah")
    # Note (across the page change) whether the progress indicator showed while sending.
    page.evaluate(WATCH_PROGRESS)
    page.get_by_role("button", name="Kirim laporan").click()
    page.wait_for_url("**/lapor/terkirim/**")
    assert page.evaluate("sessionStorage.getItem('progress-seen')") == "yes"
    number = page.locator("#tracking-number").inner_text().strip()
    link = page.locator("#secret-link").get_attribute("href")
    assert re.fullmatch(r"YOG-\d{6}-[A-Z0-9]{6}", number), number
    assert link and link.startswith(f"/lacak/{number}/")
    return number, link


def act(page: Any, action: str, entries: dict[str, str] | None = None) -> None:
    """Press an action's button on the case page (filling its entries) and wait for the swap."""
    form = page.locator(f"form.action:has(input[name='action'][value='{action}'])")
    for name, value in (entries or {}).items():
        field = form.locator(f"[name='f_{name}']")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    form.locator("button[type='submit']").click()
    expect(page.locator(f"input[name='action'][value='{action}']")).to_have_count(0)


def open_case(page: Any, number: str) -> None:
    page.goto("/antrean")
    page.get_by_role("link", name=number).click()
    expect(page.locator("h1")).to_contain_text(number)


def test_a_complaint_from_the_form_to_the_rating(people: People, site: Site) -> None:
    citizen = people.page()
    citizen.goto("/")
    expect(citizen.locator("html")).to_have_attribute("lang", "id")
    shot(citizen, "beranda-desktop")
    citizen.get_by_role("link", name=re.compile("^Buat laporan")).click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text("Buat laporan")
    shot(citizen, "lapor-daftar-desktop")
    citizen.goto("/tanya")
    shot(citizen, "tanya-desktop")
    citizen.goto(UPIK_FORM)
    shot(citizen, "lapor-formulir-desktop")
    number, secret = report_upik(
        citizen, "kesehatan", "Antrean di Puskesmas Jetis sangat panjang sejak pagi.", photo=True
    )
    shot(citizen, "lapor-terkirim-desktop")
    case = site.cases.find(number)
    assert (case.unit, case.step) == ("dinkes", "verifikasi")
    with Session(site.engine) as session:
        (photo,) = session.exec(select(Attachment).where(Attachment.case_id == case.id)).all()
    assert (photo.filename, photo.content_type) == ("jalan-rusak.png", "image/png")

    # The unit admin accepts it.
    signin = people.page()
    signin.goto("/masuk")
    shot(signin, "masuk-desktop")
    admin = people.staff("yogyakarta.admin_opd")
    expect(admin.get_by_role("link", name=number)).to_be_visible()
    shot(admin, "antrean-desktop")
    open_case(admin, number)
    shot(admin, "kasus-desktop")
    href = admin.get_by_role("link", name="jalan-rusak.png").get_attribute("href")
    download = admin.context.request.get(site.url + href)
    assert download.status == 200 and download.body() == png()
    assert download.headers["content-type"].startswith("image/png")
    act(admin, "terima")
    assert site.cases.find(number).step == "penerimaan"

    # The field officer takes it and finishes it with an answer, on a phone.
    officer = people.staff("yogyakarta.petugas_lapangan", phone=True)
    open_case(officer, number)
    act(officer, "ambil")
    answer = "Loket tambahan dibuka mulai besok pukul 07.30."
    shot(officer, "kasus-petugas-ponsel")
    act(officer, "selesai", {"jawaban": answer})
    assert site.cases.find(number).status == "done"

    # The citizen sees the answer and rates it, once, with the secret link.
    citizen.goto(f"/lacak/{number}")
    expect(citizen.locator(".answer-text")).to_have_text(answer)
    expect(citizen.locator("#rating-form")).to_have_count(0)
    citizen.goto(secret)
    expect(citizen.locator(".answer-text")).to_have_text(answer)
    expect(citizen.get_by_text("jalan-rusak.png")).to_be_visible()
    thumbnail = citizen.get_by_role("img", name="jalan-rusak.png")
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("i => i.complete && i.naturalWidth") == 24  # the photo itself
    shot(citizen, "lacak-penilaian-desktop")
    citizen.get_by_label(re.compile("^5")).check()
    citizen.get_by_label("Komentar").fill("Terima kasih, cepat ditanggapi.")
    citizen.get_by_role("button", name="Kirim penilaian").click()
    expect(citizen.locator("#rating-given")).to_contain_text("Penilaian Anda: 5 dari 5")
    shot(citizen, "lacak-dinilai-desktop")
    with Session(site.engine) as session:
        (rating,) = session.exec(select(CitizenRating).where(CitizenRating.case_id == case.id))
    assert (rating.score, rating.comment) == (5, "Terima kasih, cepat ditanggapi.")
    for page in (citizen, admin, officer):
        assert page.js_errors == [], page.js_errors


def test_a_rejection_goes_to_admin_pusat_who_reroutes_it(people: People, site: Site) -> None:
    citizen = people.page()
    number, _secret = report_upik(citizen, "kesehatan", "Sampah dibakar di tepi Sungai Code.")
    admin = people.staff("yogyakarta.admin_opd")
    open_case(admin, number)
    # A rejection without its reason is refused in place, in the engine's words.
    admin.locator("form.action:has(input[value='tolak']) [name='f_alasan']").evaluate(
        "e => e.removeAttribute('required')"
    )
    admin.locator("form.action:has(input[value='tolak']) button[type='submit']").click()
    expect(admin.locator("form.action:has(input[value='tolak']) .alert")).to_be_visible()
    act(admin, "tolak", {"alasan": "Bukan kewenangan Dinas Kesehatan: soal lingkungan."})
    assert site.cases.find(number).step == "tinjauan_pusat"

    pusat = people.staff("yogyakarta.admin_pusat")
    open_case(pusat, number)
    shot(pusat, "kasus-tinjauan-pusat-desktop")
    act(
        pusat,
        "teruskan",
        {"jawaban": "Diteruskan ke Dinas Lingkungan Hidup.", "unit": "dlh"},
    )
    case = site.cases.find(number)
    assert (case.step, case.unit) == ("verifikasi", "dlh")
    # Out of the dinkes admin's queue; the citizen reads Admin Pusat's answer.
    admin.goto("/antrean")
    expect(admin.get_by_role("link", name=number)).to_have_count(0)
    citizen.goto(f"/lacak/{number}")
    expect(citizen.get_by_text("Diteruskan ke Dinas Lingkungan Hidup.").first).to_be_visible()
    assert admin.js_errors == [] and pusat.js_errors == []


def test_a_bad_photo_is_explained_in_place(people: People) -> None:
    citizen = people.page()
    citizen.goto(UPIK_FORM)
    citizen.get_by_label("Kategori aduan").select_option("kebersihan")
    citizen.get_by_label("Isi laporan").fill("Got mampet di Jalan Magelang.")
    citizen.locator("#in-foto").set_input_files(
        {"name": "foto.jpg", "mimeType": "image/jpeg", "buffer": b"bukan gambar sama sekali"}
    )
    citizen.get_by_role("button", name="Kirim laporan").click()
    alert = citizen.locator("#report-form .alert")
    expect(alert).to_contain_text("bukan foto JPEG, PNG atau WebP")
    assert citizen.url.endswith(UPIK_FORM)
    expect(citizen.get_by_label("Isi laporan")).to_have_value("Got mampet di Jalan Magelang.")
    shot(citizen, "lapor-galat-desktop")


def test_the_language_switch(people: People) -> None:
    page = people.page()
    page.goto("/lapor")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Make a report")
    page.goto("/")
    expect(page.get_by_role("link", name=re.compile("^Ask a question"))).to_be_visible()
    shot(page, "beranda-english-desktop")
    page.get_by_role("button", name="Bahasa Indonesia").click()
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.get_by_role("heading", level=1)).to_have_text("Selamat datang")


def test_the_keyboard_reaches_the_content_first(people: People) -> None:
    page = people.page()
    page.goto("/lacak")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    expect(page.locator(".skip")).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "isi"
    # Every form control on the report form has a label.
    page.goto(UPIK_FORM)
    unlabeled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
            .map(e => e.name)"""
    )
    assert unlabeled == []


def test_pages_fit_a_phone(people: People, site: Site) -> None:
    citizen = people.page(phone=True)
    number, secret = report_upik(citizen, "kesehatan", "Lampu jalan mati di Jalan Tamansiswa.")
    pages = {
        "beranda": "/",
        "lapor-daftar": "/lapor",
        "lapor-formulir": UPIK_FORM,
        "tanya": "/tanya",
        "lacak": f"/lacak/{number}",
        "lacak-rahasia": secret,
        "masuk": "/masuk",
    }
    for name, path in pages.items():
        citizen.goto(path)
        shot(citizen, f"{name}-ponsel")
        assert citizen.evaluate("document.documentElement.scrollWidth <= innerWidth"), name
    admin = people.staff("yogyakarta.admin_opd", phone=True)
    for name, path in {"antrean": "/antrean", "kasus": None}.items():
        if path is None:
            open_case(admin, number)
        else:
            admin.goto(path)
        shot(admin, f"{name}-ponsel")
        assert admin.evaluate("document.documentElement.scrollWidth <= innerWidth"), name
    assert citizen.js_errors == [] and admin.js_errors == []


def test_a_breach_shows_in_the_queue(people: People, site: Site) -> None:
    citizen = people.page()
    number, _secret = report_upik(citizen, "kesehatan", "Obat habis di Puskesmas Gondokusuman.")
    admin = people.staff("yogyakarta.admin_opd")
    row = admin.locator("tr", has=admin.get_by_role("link", name=number))
    expect(row).not_to_have_class(re.compile("breached"))
    site.clock.advance(timedelta(hours=3))  # UPIK verification: 1 x 2 jam
    admin.reload()
    row = admin.locator("tr", has=admin.get_by_role("link", name=number))
    expect(row).to_have_class(re.compile("breached"))
    expect(row.locator(".late")).to_contain_text("terlambat")
    shot(admin, "antrean-terlambat-desktop")


def test_a_question_from_the_start_page(people: People, site: Site) -> None:
    citizen = people.page()
    citizen.goto("/")
    citizen.get_by_role("link", name=re.compile("^Ajukan pertanyaan")).click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text("Ajukan pertanyaan atau saran")
    shot(citizen, "tanya-desktop")
    citizen.get_by_role("link", name="Ajukan pertanyaan", exact=True).click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text("Ajukan pertanyaan")
    expect(citizen.get_by_label("Jenis laporan")).to_have_value("pertanyaan")
    citizen.get_by_label("Pertanyaan atau saran Anda").fill("Di mana mengurus KTP yang hilang?")
    expect(citizen.get_by_label("Nama")).to_be_enabled()
    citizen.get_by_label(re.compile("^Anonim")).check()
    # An anonymous report asks for no identity: the fields are switched off.
    expect(citizen.get_by_label("Nama")).to_be_disabled()
    citizen.get_by_role("button", name="Kirim", exact=True).click()
    citizen.wait_for_url("**/lapor/terkirim/**")
    number = citizen.locator("#tracking-number").inner_text().strip()
    case = site.cases.find(number)
    assert (case.sop_id, dict(case.fields), case.anonymous) == (
        "jss-pengaduan",
        {"jenis": "pertanyaan"},
        True,
    )


CONTRAST = """() => {
  const lum = (rgb) => {
    const [r, g, b] = rgb.match(/[\\d.]+/g).slice(0, 3).map(Number).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (e) => {
    for (; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (c && !c.startsWith("rgba(0, 0, 0, 0)") && c !== "transparent") return c;
    }
    return "rgb(255, 255, 255)";
  };
  const low = [];
  for (const e of document.querySelectorAll("body *")) {
    if (!e.offsetParent && getComputedStyle(e).position !== "fixed") continue;
    const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const a = lum(getComputedStyle(e).color), b = lum(background(e));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(`${e.tagName}.${e.className}: ${ratio.toFixed(2)}`);
  }
  return low;
}"""


def test_text_has_enough_contrast(people: People, site: Site) -> None:
    """WCAG AA (4.5:1) for every piece of text on the main citizen and staff pages."""
    citizen = people.page()
    number, secret = report_upik(citizen, "kesehatan", "Trotoar rusak di Jalan Solo.")
    for path in ("/", "/lapor", UPIK_FORM, "/tanya", f"/lacak/{number}", secret, "/masuk"):
        citizen.goto(path)
        assert citizen.evaluate(CONTRAST) == [], path
    admin = people.staff("yogyakarta.admin_opd")
    assert admin.evaluate(CONTRAST) == [], "/antrean"
    open_case(admin, number)
    assert admin.evaluate(CONTRAST) == [], "case page"


def test_the_reporter_confirms_the_answer_where_the_sop_says_so(people: People, site: Site) -> None:
    """Bantul row 6: the citizen receives the answer in the system and confirms it."""
    from sop_platform.accounts import actor_for

    (grant,) = actor_for(site.engine, "bantul.operator").grants
    kategori = {
        "dpupkp": "infrastruktur",
        "dinkes": "kesehatan",
        "dlh": "lingkungan",
        "dukcapil": "kependudukan",
        "disdikpora": "pendidikan",
    }.get(grant.unit or "", "lainnya")
    citizen = people.page()
    citizen.goto("/lapor/pengaduan-terintegrasi")
    citizen.get_by_label("Kategori aduan").select_option(kategori)
    citizen.get_by_label("Isi laporan").fill("Kapan posyandu di Sewon buka bulan ini?")
    citizen.get_by_label(re.compile("^Anonim")).check()
    citizen.get_by_role("button", name="Kirim laporan").click()
    citizen.wait_for_url("**/lapor/terkirim/**")
    number = citizen.locator("#tracking-number").inner_text().strip()
    secret = citizen.locator("#secret-link").get_attribute("href")

    operator = people.staff("bantul.operator")
    open_case(operator, number)
    act(operator, "jawab_langsung", {"jawaban": "Posyandu buka setiap Selasa pekan kedua."})

    citizen.goto(secret)
    expect(citizen.get_by_role("heading", name="Giliran Anda")).to_be_visible()
    shot(citizen, "lacak-giliran-desktop")
    citizen.get_by_role("button", name="Jawaban diterima").click()
    expect(citizen.locator(".badge")).to_have_text("selesai")
    assert site.cases.find(number).status == "done"
    expect(citizen.locator("#rating-form")).to_be_visible()
