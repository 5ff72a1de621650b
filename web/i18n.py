"""The interface's words in Bahasa Indonesia (default) and English.

Only the interface is translated. What an SOP says (titles of SOPs, steps, roles, units, field
labels) is shown as written, and the domain's own words stay Indonesian in both languages (SOP,
OPD, pelapor, Admin Pusat, jawaban, ...). Engine messages come in both languages already
(``message`` / ``message_en``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

LANGUAGES = ("id", "en")
DEFAULT = "id"
COOKIE = "lang"

_WORDS: dict[str, tuple[str, str]] = {
    # layout
    "app.name": ("Layanan Pengaduan dan SOP", "Complaints and SOP service"),
    "nav.skip": ("Langsung ke isi", "Skip to content"),
    "nav.queue": ("Antrean", "Antrean (work queue)"),
    "nav.report": ("Lapor", "Lapor (report)"),
    "nav.track": ("Lacak", "Lacak (track)"),
    "nav.login": ("Masuk petugas", "Staff sign-in"),
    "nav.logout": ("Keluar", "Sign out"),
    "nav.signed_in_as": ("Masuk sebagai", "Signed in as"),
    "nav.language": ("Bahasa", "Language"),
    "nav.switch": ("English", "Bahasa Indonesia"),
    "nav.menu": ("Menu utama", "Main menu"),
    "common.loading": ("Memuat…", "Loading…"),
    "common.back": ("Kembali", "Back"),
    "common.none": ("-", "-"),
    "common.yes": ("ya", "yes"),
    "common.no": ("tidak", "no"),
    "common.choose": ("— pilih —", "— choose —"),
    "common.all": ("Semua", "All"),
    "common.apply": ("Terapkan", "Apply"),
    "common.optional": ("tidak wajib", "optional"),
    "common.required": ("wajib", "required"),
    "common.no_script": (
        "JavaScript mati: halaman tetap bisa dipakai, tetapi tidak diperbarui otomatis.",
        "JavaScript is off: the pages still work, but do not refresh by themselves.",
    ),
    # index
    "index.title": ("Selamat datang", "Welcome"),
    "index.lead": (
        "Sampaikan laporan, pengaduan atau permohonan kepada pemerintah daerah, lalu ikuti "
        "tindak lanjutnya dengan nomor pelacakan.",
        "Send a report, complaint or request to the regional government, then follow it with "
        "its tracking number.",
    ),
    "index.report": ("Buat laporan", "Make a report"),
    "index.track": ("Lacak laporan", "Track a report"),
    "index.staff": ("Petugas: masuk ke antrean kerja", "Staff: open the work queue"),
    # login
    "login.title": ("Masuk petugas", "Staff sign-in"),
    "login.username": ("Nama pengguna", "Username"),
    "login.password": ("Kata sandi", "Password"),
    "login.submit": ("Masuk", "Sign in"),
    "login.failed": (
        "Nama pengguna atau kata sandi salah.",
        "Wrong username or password.",
    ),
    "login.limited": (
        "Terlalu banyak percobaan masuk. Coba lagi dalam satu menit.",
        "Too many sign-in attempts. Try again in a minute.",
    ),
    "login.needed": (
        "Silakan masuk untuk membuka halaman itu.",
        "Please sign in to open that page.",
    ),
    "login.expired": (
        "Sesi Anda berakhir. Silakan masuk lagi.",
        "Your session has ended. Please sign in again.",
    ),
    "logout.done": ("Anda sudah keluar.", "You have signed out."),
    # Staff recording a new case (/kasus/baru); the reporter's rating on the case page.
    "record.link": ("Catat laporan baru", "Record a new report"),
    "record.title": ("Catat laporan baru", "Record a new report"),
    "record.lead": (
        "Laporan yang menurut SOP disampaikan oleh petugas, dicatat atas nama Anda.",
        "Reports that the SOP has a member of staff submit, recorded in your name.",
    ),
    "record.sop": ("SOP", "SOP"),
    "record.choose": ("Pilih SOP", "Choose SOP"),
    "record.channel": ("Kanal", "Channel"),
    "record.text": ("Isi laporan", "Report text"),
    "record.reporter": (
        "Pelapor: Anda sendiri (akun yang sedang masuk).",
        "Reporter: you (the signed-in account).",
    ),
    "record.submit": ("Catat laporan", "Record report"),
    "case.rating": ("Penilaian pelapor", "Reporter's rating"),
    # queue
    "queue.title": ("Antrean kerja", "Work queue (antrean)"),
    "queue.lead": (
        "Kasus yang menunggu peran Anda, yang paling mendesak di atas.",
        "Cases waiting on your roles, the most urgent first.",
    ),
    "queue.filter.sop": ("SOP", "SOP"),
    "queue.filter.status": ("Status", "Status"),
    "queue.col.tracking": ("Nomor", "Number"),
    "queue.col.sop": ("SOP", "SOP"),
    "queue.col.step": ("Tahap", "Step"),
    "queue.col.unit": ("Perangkat daerah", "Unit (OPD)"),
    "queue.col.due": ("Sisa waktu", "Time left"),
    "queue.col.status": ("Status", "Status"),
    "queue.empty": ("Tidak ada kasus yang menunggu Anda.", "No case is waiting on you."),
    "queue.next": ("Halaman berikutnya", "Next page"),
    "queue.first": ("Ke awal", "Back to the start"),
    "queue.refreshed": ("Diperbarui", "Updated"),
    "queue.no_roles": (
        "Akun Anda belum memiliki peran pada SOP mana pun.",
        "Your account holds no role in any SOP yet.",
    ),
    "queue.paused": ("dijeda", "paused"),
    # time left
    "due.none": ("tanpa batas waktu", "no time limit"),
    "due.left": ("{} lagi", "{} left"),
    "due.late": ("terlambat {}", "{} late"),
    "due.at": ("batas {}", "due {}"),
    "unit.day": ("h", "d"),
    "unit.hour": ("j", "h"),
    "unit.minute": ("m", "m"),
    # case page
    "case.title": ("Kasus {}", "Case {}"),
    "case.sop": ("SOP", "SOP"),
    "case.version": ("versi", "version"),
    "case.step": ("Tahap sekarang", "Current step"),
    "case.status": ("Status", "Status"),
    "case.unit": ("Perangkat daerah", "Unit (OPD)"),
    "case.channel": ("Kanal", "Channel"),
    "case.received": ("Diterima", "Received"),
    "case.due": ("Batas waktu tahap", "Step deadline"),
    "case.text": ("Isi laporan", "Report"),
    "case.fields": ("Isian", "Fields"),
    "case.reporter": ("Pelapor", "Reporter (pelapor)"),
    "case.reporter.anonymous": (
        "Laporan anonim: identitas pelapor tidak disimpan.",
        "Anonymous report: the reporter's identity is not kept.",
    ),
    "case.reporter.confidential": (
        "Laporan rahasia: identitas pelapor tidak ditampilkan.",
        "Confidential report: the reporter's identity is not shown.",
    ),
    "case.reporter.none": ("Pelapor tidak memberikan identitas.", "The reporter gave no identity."),
    "reporter.name": ("Nama", "Name"),
    "reporter.nik": ("NIK", "NIK (identity number)"),
    "reporter.email": ("E-mail", "E-mail"),
    "reporter.phone": ("Telepon", "Phone"),
    "case.actions": ("Tindakan", "Actions"),
    "case.no_actions": (
        "Tidak ada tindakan untuk Anda pada tahap ini.",
        "There is nothing for you to do at this step.",
    ),
    "case.done": ("Tindakan dicatat.", "Action recorded."),
    "case.gone": (
        "Tindakan dicatat; kasus ini kini di luar wewenang Anda.",
        "Action recorded; this case is now outside your remit.",
    ),
    "case.timeline": ("Riwayat", "History"),
    "case.visits": ("Tahap yang dilalui", "Steps visited"),
    "case.visit.entered": ("Masuk", "Entered"),
    "case.visit.left": ("Keluar", "Left"),
    "case.visit.due": ("Batas", "Due"),
    "case.visit.outcome": ("Hasil", "Outcome"),
    "case.visit.open": ("sedang berjalan", "in progress"),
    "outcome.met": ("tepat waktu", "met"),
    "outcome.breached": ("terlambat", "breached"),
    "event.submit": ("Laporan masuk", "Report received"),
    "event.transition": ("Tindakan", "Action"),
    "event.record": ("Dicatat", "Recorded"),
    "event.report": ("Laporan progres", "Progress report"),
    "event.pause": ("Jam dijeda", "Clock paused"),
    "event.resume": ("Jam dijalankan lagi", "Clock resumed"),
    "event.intervention": ("Intervensi", "Intervention"),
    "event.warning": ("Peringatan", "Warning"),
    "event.breach": ("Melewati batas waktu", "Deadline missed"),
    "event.escalation": ("Eskalasi", "Escalation"),
    "case.back": ("Kembali ke antrean", "Back to the queue"),
    # staff pages: queue filters, escalations, SOP views, case page extras
    "queue.filter.search": ("Cari", "Search"),
    "queue.filter.search.hint": ("nomor pelacakan atau kata", "tracking number or words"),
    "queue.filter.step": ("Tahap", "Step"),
    "queue.filter.channel": ("Kanal", "Channel"),
    "queue.filter.from": ("Diterima dari", "Received from"),
    "queue.filter.until": ("sampai", "until"),
    "queue.bad_date": (
        "Tanggal tidak dapat dibaca (tulis TTTT-BB-HH); filter periode diabaikan.",
        "The date could not be read (write YYYY-MM-DD); the period filter is ignored.",
    ),
    "case.attachments": ("Lampiran", "Attachments"),
    "case.attachments.none": ("Tidak ada lampiran.", "No attachments."),
    "case.flowchart.hint": (
        "Tahap sekarang ditandai kuning; tahap yang sudah dilalui bergaris tebal.",
        "The current step is marked yellow; steps already visited have a bold border.",
    ),
    "case.flowchart.label": ("Diagram alir SOP, tahap sekarang: {}", "SOP flowchart, now at: {}"),
    "case.flowchart.sop": ("Lihat SOP lengkap", "See the whole SOP"),
    "esc.title": ("Eskalasi", "Escalations"),
    "esc.lead": (
        "Kasus yang melewati batas waktu dan dieskalasikan kepada Anda. Alihkan ke perangkat "
        "daerah lain atau beri instruksi; setiap intervensi wajib disertai alasan dan dicatat.",
        "Cases past their deadline, escalated to you. Re-assign them to another unit or give "
        "an instruction; every intervention needs a reason and is recorded.",
    ),
    "esc.empty": ("Tidak ada eskalasi yang menunggu Anda.", "No escalation is waiting on you."),
    "esc.in_queue": ("Eskalasi untuk Anda", "Escalated to you"),
    "esc.open_page": ("Buka halaman eskalasi", "Open the escalations page"),
    "esc.level": ("tingkat {}", "level {}"),
    "esc.to": ("Dieskalasikan kepada", "Escalated to"),
    "esc.since": ("Sejak", "Since"),
    "esc.reload": ("Muat ulang", "Reload"),
    "esc.done": ("Intervensi dicatat.", "Intervention recorded."),
    "esc.inform_only": (
        "SOP ini tidak memberi peran Anda wewenang intervensi; eskalasi ini untuk diketahui.",
        "This SOP gives your role no power to intervene; this escalation is for your information.",
    ),
    "power.pause": ("Hentikan jam tahap", "Stop the step's clock"),
    "power.pause.reason": ("Alasan penghentian", "Reason for stopping"),
    "power.resume": ("Jalankan lagi jam tahap", "Restart the step's clock"),
    "power.paused_for": ("Jam berhenti: {}", "Clock stopped: {}"),
    "power.note": ("Catatan", "Note"),
    "power.intervene": ("Intervensi", "Intervene"),
    "power.kind": ("Jenis intervensi", "Kind of intervention"),
    "power.reassign": ("Alihkan ke perangkat daerah lain", "Re-assign to another unit"),
    "power.instruct": ("Beri instruksi", "Give an instruction"),
    "power.force_step": ("Pindahkan ke tahap lain", "Move to another step"),
    "power.instruction": ("Isi instruksi", "Instruction"),
    "power.reason": ("Alasan (wajib)", "Reason (required)"),
    "power.to_step": ("Tahap tujuan", "Target step"),
    "power.for_reassign": ("untuk pengalihan", "when re-assigning"),
    "power.for_force": ("untuk pindah tahap", "when moving the step"),
    "power.for_instruct": ("untuk instruksi", "when instructing"),
    "sop.list.title": ("Daftar SOP", "SOPs"),
    "sop.list.lead": (
        "SOP wilayah Anda dengan setiap versinya: diagram alir dan tabel SOP resmi.",
        "Your region's SOPs with every version: flowchart and the official SOP table.",
    ),
    "sop.list.none": ("Belum ada SOP.", "No SOP yet."),
    "sop.newest": ("terbaru", "newest"),
    "sop.back": ("Kembali ke daftar SOP", "Back to the SOPs"),
    "sop.region": ("Wilayah", "Region"),
    "sop.col.sop": ("SOP", "SOP"),
    "sop.col.version": ("Versi", "Version"),
    "sop.col.published": ("Diterbitkan", "Published"),
    "sop.doc.number": ("Nomor SOP", "SOP number"),
    "sop.doc.issued_by": ("Diterbitkan oleh", "Issued by"),
    "sop.doc.approved_by": ("Disahkan oleh", "Approved by"),
    "sop.total": ("Jumlah waktu", "Total time"),
    "sop.legal_basis": ("Dasar hukum", "Legal basis"),
    "sop.flowchart": ("Diagram alir", "Flowchart"),
    "sop.flowchart.hint": (
        "Satu lajur per pelaksana; belah ketupat adalah keputusan; batas waktu di dalam kotak.",
        "One lane per actor (pelaksana); diamonds are decisions; time limits inside the boxes.",
    ),
    "sop.roles": ("Peran", "Roles"),
    "sop.sheet": ("Tabel SOP", "SOP table"),
    "sop.sheet.no": ("No.", "No."),
    "sop.sheet.activity": ("Kegiatan", "Activity (kegiatan)"),
    "sop.sheet.actors": ("Pelaksana", "Actors (pelaksana)"),
    "sop.sheet.quality": ("Mutu Baku", "Standard (mutu baku)"),
    "sop.sheet.completeness": ("Kelengkapan", "Completeness"),
    "sop.sheet.time": ("Waktu", "Time"),
    "sop.sheet.output": ("Output", "Output"),
    "sop.sheet.note": ("Keterangan", "Notes (keterangan)"),
    "sopup.title": ("Unggah versi SOP", "Upload an SOP version"),
    "sopup.lead": (
        "Berkas YAML satu SOP. Berkas diperiksa seperti `sop validate`; SOP diterbitkan hanya "
        "bila tidak ada masalah. Kasus yang sedang berjalan tetap memakai versinya.",
        "One SOP's YAML file. It is checked as `sop validate` checks it and published only "
        "when nothing is wrong. Running cases keep their version.",
    ),
    "sopup.file": ("Berkas SOP (YAML)", "SOP file (YAML)"),
    "sopup.file.hint": ("Paling besar 512 KB.", "At most 512 KB."),
    "sopup.submit": ("Periksa dan terbitkan", "Check and publish"),
    "sopup.bad_region": ("Pilih wilayah Anda.", "Choose your region."),
    "sopup.empty": ("Berkas kosong atau tidak dipilih.", "The file is empty or missing."),
    "sopup.too_large": ("Berkas lebih besar dari {} KB.", "The file is larger than {} KB."),
    "sopup.not_text": ("Berkas bukan teks UTF-8.", "The file is not UTF-8 text."),
    "sopup.invalid": (
        "SOP tidak diterbitkan: {} masalah ditemukan.",
        "The SOP was not published: {} problem(s) found.",
    ),
    "sopup.published": ("SOP {} versi {} diterbitkan.", "SOP {} version {} published."),
    "sopup.unchanged": (
        "SOP {} versi {} sudah terbit dengan isi yang sama; tidak ada perubahan.",
        "SOP {} version {} is already published with the same content; nothing changed.",
    ),
    "nav.sops": ("SOP", "SOPs"),
    # conformance reports (laporan kepatuhan)
    "nav.reports": ("Laporan kepatuhan", "Conformance reports"),
    "laporan.title": ("Laporan kepatuhan SOP", "SOP conformance report"),
    "laporan.lead": (
        "Ketepatan waktu per tahap, peringkat unit dan statistik untuk kasus yang masuk pada "
        "periode yang dipilih.",
        "Timeliness per step, unit ranking and statistics for the cases submitted in the chosen "
        "period.",
    ),
    "laporan.region": ("Daerah", "Region"),
    "laporan.sop": ("SOP", "SOP"),
    "laporan.version": ("Versi", "Version"),
    "laporan.since": ("Dari tanggal", "From"),
    "laporan.until": ("Sampai tanggal", "Until"),
    "laporan.unit": ("Unit", "Unit"),
    "laporan.channel": ("Kanal", "Channel"),
    "laporan.min_cases": ("Minimal kasus untuk peringkat", "Cases needed to be ranked"),
    "laporan.show": ("Tampilkan", "Show"),
    "laporan.download": ("Unduh", "Download"),
    "laporan.document": ("Nomor dokumen", "Document number"),
    "laporan.legal": ("Dasar hukum", "Legal basis"),
    "laporan.period": ("Periode", "Period"),
    "laporan.minutes_note": (
        "Waktu dalam menit, dihitung pada jam tahap itu sendiri (menit jam kerja untuk batas jam "
        "kerja dan hari kerja), tanpa waktu jeda. Median dan P90 menurut peringkat terdekat.",
        "Times in minutes, counted on each step's own clock (office minutes for office-hours and "
        "working-day limits), paused time excluded. Median and P90 by nearest rank.",
    ),
    "laporan.unmeasured": (
        "{} kunjungan selesai belum punya waktu tercatat (jalankan sop report --backfill).",
        "{} closed visits have no recorded time yet (run sop report --backfill).",
    ),
    "laporan.steps": ("Per tahap", "Per step"),
    "laporan.step": ("Tahap", "Step"),
    "laporan.limit": ("Batas waktu", "Limit"),
    "laporan.visits": ("Kunjungan", "Visits"),
    "laporan.open": ("Terbuka", "Open"),
    "laporan.met": ("Tepat waktu", "Met"),
    "laporan.breached": ("Terlambat", "Breached"),
    "laporan.share": ("% tepat", "% met"),
    "laporan.median": ("Median", "Median"),
    "laporan.p90": ("P90", "P90"),
    "laporan.paused": ("Jeda", "Paused"),
    "laporan.worst": ("Keterlambatan terbesar", "Worst overruns"),
    "laporan.chart_steps": ("Tepat waktu vs. terlambat per tahap", "Met vs. breached per step"),
    "laporan.whole": ("Seluruh kasus", "Whole case"),
    "laporan.whole_line": (
        "{} kasus masuk, {} selesai/ditutup; median {} menit, P90 {} menit dari masuk sampai "
        "selesai.",
        "{} cases submitted, {} closed; median {} minutes, P90 {} minutes from submission to "
        "closing.",
    ),
    "laporan.within": (
        "Dalam total SOP ({}): {} dari {} kasus.",
        "Within the SOP's total ({}): {} of {} cases.",
    ),
    "laporan.late": ("Kasus terbuka yang sudah terlambat", "Open cases already late"),
    "laporan.tracking": ("Nomor", "Number"),
    "laporan.due": ("Batas", "Due"),
    "laporan.late_by": ("Terlambat (menit)", "Late (minutes)"),
    "laporan.pauses": ("Jeda", "Pauses"),
    "laporan.reason": ("Alasan", "Reason"),
    "laporan.from": ("Dari", "From"),
    "laporan.to": ("Sampai", "To"),
    "laporan.trend": ("Tren mingguan", "Weekly trend"),
    "laporan.ranking": ("Peringkat unit per bulan", "Monthly unit ranking"),
    "laporan.rank": ("Peringkat", "Rank"),
    "laporan.cases": ("Kasus", "Cases"),
    "laporan.unranked": ("belum diperingkat", "not ranked"),
    "laporan.stats": ("Statistik", "Statistics"),
    "laporan.by_channel": ("Menurut kanal", "By channel"),
    "laporan.by_unit": ("Menurut unit", "By unit"),
    "laporan.by_status": ("Menurut status", "By status"),
    "laporan.questions": ("Pertanyaan dan saran", "Questions and suggestions"),
    "laporan.closed": ("Selesai/ditutup", "Closed"),
    "laporan.done": ("Dijawab/selesai", "Answered/done"),
    "laporan.obligations": ("Kewajiban berkala", "Recurring obligations"),
    "laporan.fulfilled": ("Dipenuhi", "Fulfilled"),
    "laporan.missed": ("Terlewat", "Missed"),
    "laporan.none": ("Tidak ada.", "None."),
    "nav.escalations": ("Eskalasi", "Escalations"),
    # END staff pages
    # entries of actions
    "entry.unit": ("Perangkat daerah tujuan", "Target unit (OPD)"),
    # errors
    "error.title": ("Terjadi masalah", "Something went wrong"),
    "error.400": ("Permintaan tidak dapat dibaca.", "The request could not be read."),
    "error.401": ("Silakan masuk terlebih dahulu.", "Please sign in first."),
    "error.403": (
        "Permintaan ditolak (token keamanan formulir tidak cocok). Muat ulang halaman lalu coba "
        "lagi.",
        "The request was refused (the form's security token did not match). Reload the page "
        "and try again.",
    ),
    "error.404": ("Halaman atau kasus tidak ditemukan.", "Page or case not found."),
    "error.405": ("Cara permintaan ini tidak didukung.", "This request method is not supported."),
    "error.429": (
        "Terlalu banyak percobaan. Coba lagi sebentar lagi.",
        "Too many attempts. Try again shortly.",
    ),
    "error.500": (
        "Terjadi kesalahan di server. Kesalahan sudah dicatat; coba lagi nanti.",
        "The server hit an error. It has been logged; try again later.",
    ),
    "error.home": ("Ke halaman awal", "Go to the start page"),
    # citizen: report
    "report.title": ("Buat laporan", "Make a report"),
    "report.lead": (
        "Pilih layanan atau jenis pengaduan. Anda tidak perlu akun.",
        "Choose a service or kind of complaint. You need no account.",
    ),
    "report.region": ("Wilayah", "Region"),
    "report.choose": ("Pilih", "Choose"),
    "report.none": ("Belum ada layanan yang menerima laporan.", "No service takes reports yet."),
    "report.form.title": ("Laporan: {}", "Report: {}"),
    "report.text": ("Isi laporan", "Your report"),
    "report.text.hint": (
        "Tuliskan apa yang terjadi, di mana dan kapan.",
        "Write what happened, where and when.",
    ),
    "report.privacy": ("Kerahasiaan", "Privacy"),
    "report.anonymous": (
        "Anonim: identitas saya tidak disimpan",
        "Anonymous: do not keep my identity",
    ),
    "report.confidential": (
        "Rahasia: identitas saya tidak ditampilkan kepada petugas",
        "Confidential: do not show my identity to the staff",
    ),
    "report.identity": ("Identitas pelapor", "Your identity"),
    "report.identity.any_of": (
        "Wajib diisi salah satu dari: {}.",
        "Give at least one of: {}.",
    ),
    "report.identity.optional": (
        "Tidak wajib; diperlukan bila Anda ingin dihubungi.",
        "Optional; needed if you want to be contacted.",
    ),
    "report.submit": ("Kirim laporan", "Send the report"),
    "report.sent.title": ("Laporan terkirim", "Report sent"),
    "report.sent.number": ("Nomor pelacakan Anda", "Your tracking number"),
    "report.sent.keep": (
        "Simpan nomor ini untuk mengikuti tindak lanjut laporan Anda.",
        "Keep this number to follow what happens to your report.",
    ),
    "report.sent.track": ("Lacak laporan ini", "Track this report"),
    # citizen pages: questions, photos, the secret link, ratings
    "index.report.text": (
        "Pengaduan, permohonan layanan atau data, keadaan darurat.",
        "Complaints, service or data requests, emergencies.",
    ),
    "index.ask": ("Ajukan pertanyaan", "Ask a question"),
    "nav.ask": ("Tanya", "Tanya (ask)"),
    "index.ask.text": (
        "Pertanyaan dan saran untuk perangkat daerah.",
        "Questions and suggestions for the regional agencies.",
    ),
    "index.track.text": (
        "Ikuti status dan jawaban dengan nomor pelacakan.",
        "Follow the status and answers with your tracking number.",
    ),
    "index.how": ("Cara kerjanya", "How it works"),
    "index.how.1": (
        "Pilih layanan, tulis laporan Anda, lampirkan foto bila perlu.",
        "Choose a service, write your report, attach photos if useful.",
    ),
    "index.how.2": (
        "Simpan nomor pelacakan dan tautan rahasia yang Anda terima.",
        "Keep the tracking number and the secret link you receive.",
    ),
    "index.how.3": (
        "Petugas menindaklanjuti sesuai SOP dan batas waktunya; Anda dapat menilai jawabannya.",
        "Staff follow it up by the SOP and its time limits; you can rate the answer.",
    ),
    "report.by_category": ("Mulai dari {}", "Start from: {}"),
    "report.photos": ("Foto", "Photos"),
    "report.photos.hint": (
        "JPEG, PNG atau WebP; paling banyak {} foto, masing-masing paling besar {}.",
        "JPEG, PNG or WebP; at most {} photos, each at most {}.",
    ),
    "report.photos.again": (
        "Pilih ulang foto Anda (foto tidak ikut terkirim ulang).",
        "Choose your photos again (they are not sent again by themselves).",
    ),
    "report.photos.failed": (
        "Laporan diterima, tetapi foto tidak dapat disimpan. Kirim foto melalui petugas bila "
        "diperlukan.",
        "The report was received, but the photos could not be stored. Give them to the staff "
        "if needed.",
    ),
    "report.anonymous.hint": (
        "Petugas tidak dapat menghubungi Anda; ikuti laporan dengan nomor pelacakan.",
        "Staff cannot contact you; follow the report with its tracking number.",
    ),
    "report.confidential.hint": (
        "Identitas disimpan tetapi tidak ditampilkan kepada petugas yang menangani.",
        "Your identity is kept but not shown to the staff handling the report.",
    ),
    "report.sending": ("Mengirim…", "Sending…"),
    "report.sent.link": ("Tautan rahasia Anda", "Your secret link"),
    "report.sent.link.text": (
        "Dengan tautan ini Anda dapat mengikuti laporan, menanggapi, dan menilai jawabannya. "
        "Simpan dan jangan dibagikan: siapa pun yang memilikinya dapat menilai laporan ini.",
        "With this link you can follow the report, respond and rate the answer. Keep it and "
        "do not share it: anyone who has it can rate this report.",
    ),
    "report.sent.photos": ("Foto terlampir: {}", "Photos attached: {}"),
    "ask.title": ("Ajukan pertanyaan atau saran", "Ask a question or make a suggestion"),
    "ask.lead": (
        "Pertanyaan dan saran dijawab oleh perangkat daerah yang bertugas. Anda tidak perlu akun.",
        "Questions and suggestions are answered by the agency in charge. You need no account.",
    ),
    "ask.none": (
        "Belum ada layanan yang menerima pertanyaan.",
        "No service takes questions yet.",
    ),
    "ask.card": (
        "Tanyakan hal tentang layanan pemerintah daerah, atau sampaikan saran perbaikan.",
        "Ask about the regional government's services, or suggest an improvement.",
    ),
    "ask.kind.pertanyaan": ("Ajukan pertanyaan", "Ask a question"),
    "ask.kind.saran": ("Sampaikan saran", "Make a suggestion"),
    "ask.form.title.pertanyaan": ("Ajukan pertanyaan", "Ask a question"),
    "ask.form.title.saran": ("Sampaikan saran", "Make a suggestion"),
    "ask.text": ("Pertanyaan atau saran Anda", "Your question or suggestion"),
    "ask.submit": ("Kirim", "Send"),
    "track.your_step": ("Giliran Anda", "Your turn"),
    "track.secret_hint": (
        "Untuk menanggapi atau menilai jawaban, buka tautan rahasia yang Anda terima saat melapor.",
        "To respond or rate the answer, open the secret link you received when reporting.",
    ),
    "rating.title": ("Penilaian jawaban", "Rate the answer"),
    "rating.question": (
        "Seberapa puas Anda dengan jawaban dan penanganannya?",
        "How satisfied are you with the answer and its handling?",
    ),
    "rating.word.1": ("sangat buruk", "very poor"),
    "rating.word.2": ("buruk", "poor"),
    "rating.word.3": ("cukup", "fair"),
    "rating.word.4": ("baik", "good"),
    "rating.word.5": ("sangat baik", "very good"),
    "rating.comment": ("Komentar", "Comment"),
    "rating.submit": ("Kirim penilaian", "Send the rating"),
    "rating.given": ("Penilaian Anda: {} dari 5", "Your rating: {} out of 5"),
    "rating.later": (
        "Penilaian dapat diberikan setelah laporan selesai ditangani.",
        "You can rate the answer once the report has been handled.",
    ),
    "rating.thanks": ("Terima kasih atas penilaian Anda.", "Thank you for your rating."),
    "error.413": (
        "Kiriman terlalu besar: paling banyak 3 foto, masing-masing paling besar 5 MB.",
        "Too much was sent: at most 3 photos, each at most 5 MB.",
    ),
    # END citizen pages
    "report.reused": (
        "Formulir ini sudah dipakai untuk laporan lain; periksa isian lalu kirim lagi.",
        "This form was already used for another report; check the entries and send again.",
    ),
    # citizen: track
    "track.title": ("Lacak laporan", "Track a report"),
    "track.number": ("Nomor pelacakan", "Tracking number"),
    "track.submit": ("Lacak", "Track"),
    "track.not_found": (
        "Nomor pelacakan tidak ditemukan. Periksa kembali penulisannya.",
        "Tracking number not found. Check how it is written.",
    ),
    "track.status": ("Status", "Status"),
    "track.step": ("Tahap sekarang", "Current step"),
    "track.received": ("Diterima", "Received"),
    "track.updated": ("Terakhir diperbarui", "Last updated"),
    "track.history": ("Perkembangan", "Progress"),
    "track.answer": ("Jawaban", "Answer"),
    "track.by": ("oleh", "by"),
    # administration (admin_daerah)
    "nav.admin": ("Administrasi", "Administration"),
    "admin.title": ("Administrasi daerah", "Region administration"),
    "admin.region": ("Daerah", "Region"),
    "admin.users": ("Pengguna", "Users"),
    "admin.units": ("Perangkat daerah", "Perangkat daerah (units)"),
    "admin.units.lead": (
        "Perangkat daerah ditetapkan dalam berkas daerah (region.yaml). Di sini hanya dapat "
        "diaktifkan, dinonaktifkan, dan diberi kontak.",
        "Units are declared in the region file (region.yaml). Here they can only be activated, "
        "deactivated and given contact data.",
    ),
    "admin.sops": ("Versi SOP", "SOP versions"),
    "admin.sops.lead": (
        "Versi yang ditarik tidak dipakai untuk kasus baru; kasus yang sudah berjalan tetap "
        "memakai versinya.",
        "A withdrawn version takes no new cases; cases already on it keep running on it.",
    ),
    "admin.apikeys": ("Kunci API", "API keys"),
    "admin.audit": ("Log audit", "Audit log"),
    "admin.saved": ("Perubahan disimpan.", "Change saved."),
    "admin.save": ("Simpan", "Save"),
    "admin.active": ("aktif", "active"),
    "admin.inactive": ("nonaktif", "disabled"),
    "admin.activate": ("Aktifkan", "Activate"),
    "admin.deactivate": ("Nonaktifkan", "Deactivate"),
    "admin.password.once": (
        "Kata sandi baru — hanya ditampilkan sekali ini. Sampaikan kepada pengguna secara aman.",
        "The new password — shown this once only. Give it to the user securely.",
    ),
    "admin.user.new": ("Pengguna baru", "New user"),
    "admin.user.create": ("Buat pengguna", "Create user"),
    "admin.user.created": ("Pengguna dibuat.", "User created."),
    "admin.user.reset": ("Atur ulang kata sandi", "Reset password"),
    "admin.user.disable": ("Nonaktifkan akun", "Disable account"),
    "admin.user.enable": ("Aktifkan akun", "Enable account"),
    "admin.user.username": ("Nama pengguna", "Username"),
    "admin.user.username.hint": (
        "huruf kecil, angka, titik, garis bawah atau tanda hubung",
        "lower-case letters, digits, dots, underscores or hyphens",
    ),
    "admin.user.full_name": ("Nama lengkap", "Full name"),
    "admin.user.roles": ("Peran", "Roles"),
    "admin.user.role": ("Peran", "Role"),
    "admin.user.needs_unit": ("perlu perangkat daerah", "needs a unit"),
    "admin.user.unit": ("Perangkat daerah", "Unit"),
    "admin.user.no_unit": ("— tanpa perangkat daerah —", "— no unit —"),
    "admin.user.unit.hint": (
        "hanya untuk peran staf perangkat daerah",
        "only for the roles of a unit's staff",
    ),
    "admin.user.status": ("Status", "Status"),
    "admin.user.grant": ("Berikan peran", "Grant role"),
    "admin.user.revoke": ("cabut", "revoke"),
    "admin.user.account": ("Akun", "Account"),
    "admin.unit.code": ("Kode", "Code"),
    "admin.unit.name": ("Nama", "Name"),
    "admin.unit.contact": ("Kontak", "Contact"),
    "admin.sop.version": ("Versi", "Version"),
    "admin.sop.published": ("Diterbitkan", "Published"),
    "admin.sop.withdrawn": ("ditarik", "withdrawn"),
    "admin.sop.for_new": ("untuk kasus baru", "for new cases"),
    "admin.sop.older": ("versi lama", "older version"),
    "admin.sop.withdraw": ("Tarik dari kasus baru", "Withdraw from new cases"),
    "admin.sop.publish": ("Terbitkan lagi", "Publish again"),
    "admin.audit.action": ("Aksi", "Action"),
    "admin.audit.actor": ("Pelaku", "Actor"),
    "admin.audit.target": ("Sasaran", "Target"),
    "admin.audit.from": ("Dari tanggal", "From"),
    "admin.audit.until": ("Sampai tanggal", "Until"),
    "admin.audit.at": ("Waktu", "When"),
    "admin.audit.before": ("Sebelum", "Before"),
    "admin.audit.after": ("Sesudah", "After"),
    "admin.audit.csv": ("Unduh CSV", "Download CSV"),
    "admin.audit.empty": ("Belum ada catatan.", "No entries."),
    "admin.audit.newest": ("Terbaru", "Newest"),
    "admin.audit.older": ("Lebih lama", "Older"),
    # the reporter's own data
    "privacy.title": ("Data pribadi Anda", "Your personal data"),
    "privacy.lead": (
        "Unduh semua data yang kami simpan tentang laporan ini dan tentang Anda (JSON). Data "
        "pribadi dihapus setelah masa retensi SOP berakhir.",
        "Download everything we hold about this report and about you (JSON). Personal data is "
        "erased when the SOP's retention period ends.",
    ),
    "privacy.download": ("Unduh data saya", "Download my data"),
    "admin.key.new": ("Kunci API baru", "New API key"),
    "admin.key.create": ("Buat kunci", "Create key"),
    "admin.key.created": ("Kunci API dibuat.", "API key created."),
    "admin.key.once": (
        "Kunci API — hanya ditampilkan sekali ini. Simpan di aplikasi yang memakainya.",
        "The API key — shown this once only. Store it in the application that uses it.",
    ),
    "admin.key.prefix": ("Awalan", "Prefix"),
    "admin.key.name": ("Nama (pemakai kunci)", "Name (who uses the key)"),
    "admin.key.name.hint": ("mis. Aplikasi JSS Android", "e.g. JSS Android app"),
    "admin.key.roles.hint": (
        "Tanpa peran, kunci hanya dapat mengirim laporan atas nama warga.",
        "Without roles, the key may only submit reports on behalf of citizens.",
    ),
    "admin.key.created_at": ("Dibuat", "Created"),
    "admin.key.last_used": ("Terakhir dipakai", "Last used"),
    "admin.key.revoked": ("dicabut", "revoked"),
    "admin.key.revoke": ("Cabut kunci", "Revoke key"),
    "case.reporter.confidential_shown": (
        "Laporan rahasia: identitas pelapor ditampilkan hanya kepada penanggung jawab tahap ini. "
        "Jangan diteruskan kepada siapa pun.",
        "Confidential report: the reporter's identity is shown only to the role responsible for "
        "this step. Do not pass it on.",
    ),
}

# Case statuses (the fixed set every SOP maps onto).
STATUS: dict[str, tuple[str, str]] = {
    "open": ("diproses", "in progress"),
    "waiting": ("menunggu", "waiting"),
    "done": ("selesai", "done"),
    "rejected": ("ditolak/ditutup", "rejected/closed"),
    "cancelled": ("dibatalkan", "cancelled"),
}


def normalise(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT


def translate(key: str, lang: str) -> str:
    """The interface text for ``key``; a missing key is a bug and raises ``KeyError``."""
    words = _WORDS[key]
    return words[1] if lang == "en" else words[0]


def translator(lang: str) -> Callable[..., str]:
    def t(key: str, *args: object) -> str:
        text = translate(key, lang)
        return text.format(*args) if args else text

    return t


def status_word(status: str, lang: str) -> str:
    words = STATUS.get(status, (status, status))
    return words[1] if lang == "en" else words[0]


def duration(delta: timedelta, lang: str) -> str:
    """A span as a clerk reads it: ``2 h 5 m``, ``1 h 3 j``; never seconds."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} {translate('unit.day', lang)}")
    if hours:
        parts.append(f"{hours} {translate('unit.hour', lang)}")
    if mins or not parts:
        parts.append(f"{mins} {translate('unit.minute', lang)}")
    return " ".join(parts[:2])


def time_left(due: datetime | None, now: datetime, lang: str) -> tuple[str, bool]:
    """The time left before ``due`` (or how late it is) and whether it is breached."""
    if due is None:
        return translate("due.none", lang), False
    if due >= now:
        return translate("due.left", lang).format(duration(due - now, lang)), False
    return translate("due.late", lang).format(duration(now - due, lang)), True


class Bilingual(Protocol):
    """An error that says itself in Bahasa Indonesia and in English (engine, administration)."""

    message: str
    message_en: str


def message_of(err: Bilingual, lang: str) -> str:
    """The error's message in the interface's language."""
    return err.message if lang == "id" else err.message_en
