"""A small, known history for the report tests, driven through the case engine on a virtual clock.

Region ``uji``: Monday to Friday, office hours 08:00-16:00 WIB (480 office minutes a day), and a
local holiday on Wednesday 3 December 2025. SOP ``uji-layanan``: ``periksa`` (1 hari kerja,
may pause while waiting for the reporter's data) -lanjut-> ``proses`` (60 menit, office hours)
-selesai-> ``selesai`` (done). Routing: ``lokasi`` utara -> unit utara, selatan -> unit selatan.

The history, with each figure worked out by hand (all times WIB):

E  Mon 1 Dec 08:30 submitted (utara, pertanyaan, web). periksa due Tue 2 Dec 16:00; lanjut 08:40
   (10 min, met). proses due 09:40; selesai 09:00 (20 min, met). Case: 30 min.
B  Mon 1 Dec 15:00 (utara, pengaduan, web). periksa due Tue 16:00; lanjut Tue 09:00
   (Mon 15-16 = 60 + Tue 08-09 = 60: 120 min, met). proses due 10:00; selesai 09:45 (45, met).
   Case: 165 min.
A  Tue 2 Dec 10:00 (utara, pengaduan, web). periksa: day 0 Tuesday, Wednesday is the holiday, so
   due Thu 4 Dec 16:00. Paused Tue 14:00 - Thu 09:00: Tue 14-16 = 120 + Wed 0 + Thu 08-09 = 60,
   180 office minutes; the deadline moves 180 office minutes from Thu 16:00 to Fri 5 Dec 11:00
   (1140 wall-clock minutes). lanjut Fri 10:00: gross Tue 10-16 = 360 + Thu 480 + Fri 08-10 =
   120 = 960, less 180 paused = 780 min, met. proses due Fri 11:00; selesai 12:30: 150 min,
   breached by 90. Case: 930 min.
C  Fri 5 Dec 17:00 (selatan, pertanyaan, sms): after closing, so received Mon 8 Dec; periksa due
   Tue 9 Dec 16:00. lanjut Wed 10 Dec 09:00: Mon 480 + Tue 480 + Wed 60 = 1020 min, breached by
   60 (Tue 16:00 - Wed 09:00 is 60 office minutes). proses due Wed 10:00, still open.
D  Mon 8 Dec 09:00 (selatan, pengaduan, web). periksa due Tue 9 Dec 16:00, still open.

The report is read at NOW, Wed 10 Dec 12:00: C's proses is 120 office minutes late (10-12), D's
periksa 240 (Wed 08-12).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from rules.evaluator import Evaluator
from rules.loader import load_catalog
from sop_platform.engine import Actor, CaseEngine, Grant, NewCase
from sop_platform.registry import Registry
from sop_platform.timekeeping import VirtualClock

WIB = ZoneInfo("Asia/Jakarta")
SOP = "uji-layanan"

REGION_YAML = """\
region: uji
name: Pemerintah Kota Uji
level: kota
demo_units: true
calendar:
  timezone: Asia/Jakarta
  work_week: [senin, selasa, rabu, kamis, jumat]
  office_hours: {start: "08:00", end: "16:00"}
  local_holidays:
    - {date: "2025-12-03", name: Hari Jadi Kota Uji}
units:
  utara: {code: "UTR", name: Kantor Wilayah Utara}
  selatan: {code: "SLT", name: Kantor Wilayah Selatan}
channels:
  web: {title: Situs web}
  sms: {title: SMS}
"""

SOP_YAML = """\
sop: uji-layanan
version: "2025-12-01"
region: uji
title: Layanan Uji
document:
  number: "7 Tahun 2025"
  kind: Keputusan Walikota Uji
legal_basis:
  - Peraturan Walikota Uji Nomor 1 Tahun 2025
submission:
  by: warga
  channels: [web, sms]
fields:
  kategori:
    type: choice
    required: true
    options: [pengaduan, pertanyaan]
  lokasi:
    type: choice
    required: true
    options: [utara, selatan]
roles:
  warga: {kind: citizen, title: Warga}
  petugas: {kind: unit_staff, title: Petugas Wilayah}
routing:
  - {when: "lokasi == selatan", unit: selatan}
  - {otherwise: true, unit: utara}
start: periksa
steps:
  periksa:
    number: "2"
    title: Petugas memeriksa laporan
    by: petugas
    limit: 1 hari kerja
    pauses:
      menunggu_data: Menunggu data dari pelapor
    actions:
      lanjut: {to: proses}
  proses:
    number: "3"
    title: Petugas menyelesaikan laporan
    by: petugas
    limit: 60 menit
    clock: office_hours
    actions:
      selesai: {to: selesai, requires: [jawaban]}
  selesai:
    title: Selesai
    status: done
"""


def wib(d: int, h: int, mi: int = 0) -> datetime:
    return datetime(2025, 12, d, h, mi, tzinfo=WIB)


NOW = wib(10, 12)
UTARA = Actor("Petugas Utara", (Grant("uji", "petugas", "utara"),))
SELATAN = Actor("Petugas Selatan", (Grant("uji", "petugas", "selatan"),))


def uji_registry(engine: Engine, directory: Path, evaluator: Evaluator) -> Registry:
    folder = directory / "uji"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "region.yaml").write_text(REGION_YAML, encoding="utf-8")
    (folder / "layanan.yaml").write_text(SOP_YAML, encoding="utf-8")
    catalog = load_catalog([directory])
    assert catalog.ok, catalog.problems
    registry = Registry(engine, catalog, evaluator)
    registry.publish(wib(1, 7))
    return registry


def build_history(engine: Engine, registry: Registry) -> dict[str, str]:
    """Play the history above; return the tracking number of each case by its letter."""
    clock = VirtualClock(wib(1, 8, 30))
    cases = CaseEngine(engine, registry, clock)

    def submit(at: datetime, kategori: str, lokasi: str, channel: str) -> int:
        clock.set(at)
        fields = {"kategori": kategori, "lokasi": lokasi}
        return cases.submit(NewCase(SOP, channel, "Laporan uji", fields, anonymous=True)).id

    def act(at: datetime, case_id: int, actor: Actor, action: str) -> None:
        clock.set(at)
        payload = {"jawaban": "Sudah ditangani."} if action == "selesai" else {}
        cases.act(case_id, actor, action, payload)

    e = submit(wib(1, 8, 30), "pertanyaan", "utara", "web")
    act(wib(1, 8, 40), e, UTARA, "lanjut")
    act(wib(1, 9), e, UTARA, "selesai")
    b = submit(wib(1, 15), "pengaduan", "utara", "web")
    act(wib(2, 9), b, UTARA, "lanjut")
    act(wib(2, 9, 45), b, UTARA, "selesai")
    a = submit(wib(2, 10), "pengaduan", "utara", "web")
    clock.set(wib(2, 14))
    cases.pause(a, UTARA, "menunggu_data")
    clock.set(wib(4, 9))
    cases.resume(a, UTARA)
    act(wib(5, 10), a, UTARA, "lanjut")
    act(wib(5, 12, 30), a, UTARA, "selesai")
    c = submit(wib(5, 17), "pertanyaan", "selatan", "sms")
    d = submit(wib(8, 9), "pengaduan", "selatan", "web")
    act(wib(10, 9), c, SELATAN, "lanjut")
    return {
        k: cases.get(v).tracking_number for k, v in {"A": a, "B": b, "C": c, "D": d, "E": e}.items()
    }
