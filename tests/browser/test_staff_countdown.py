"""The queue's live countdown (``web/static/countdown.js``) in a real browser.

The script counts from the server's time of the fragment (``data-now``) plus the seconds the
browser has spent since, never from the browser's own clock: the site's clock here is a virtual
one in 2025, far from the browser's.
"""

from __future__ import annotations

from typing import Any

from sop_platform.engine import NewCase
from tests.browser.conftest import People, Site

MOVE_DUE = """([tracking, offset]) => {
    const link = [...document.querySelectorAll('a')].find(a => a.textContent === tracking);
    const row = link.closest('tr');
    const box = row.closest('[data-now]');
    const due = row.querySelector('[data-due]');
    due.dataset.due = new Date(Date.parse(box.dataset.now) + offset * 1000).toISOString();
}"""


def due_text(page: Any, tracking: str) -> str:
    text: str = page.evaluate(
        """(tracking) => [...document.querySelectorAll('a')]
            .find(a => a.textContent === tracking).closest('tr')
            .querySelector('[data-due]').textContent""",
        tracking,
    )
    return text


def test_the_time_left_counts_down_from_the_servers_time(people: People, site: Site) -> None:
    case = site.cases.submit(
        NewCase(
            sop_id="upik-pengaduan",
            channel="jss",
            text="Uji hitung mundur di peramban",
            fields={"kategori": "kesehatan"},
            anonymous=True,
        )
    )
    page = people.staff("yogyakarta.admin_opd")
    page.goto("/antrean")
    assert due_text(page, case.tracking_number).endswith("lagi")
    # A deadline 90 s after the server's moment: one minute left, shown within a second.
    page.evaluate(MOVE_DUE, [case.tracking_number, 90])
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('a')].find(a => a.textContent === t)"
        ".closest('tr').querySelector('[data-due]').textContent === '1 m lagi'",
        arg=case.tracking_number,
        timeout=3000,
    )
    # An hour before it: late, and the row is marked as breached without a reload.
    page.evaluate(MOVE_DUE, [case.tracking_number, -3600])
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('a')].find(a => a.textContent === t)"
        ".closest('tr').classList.contains('breached')",
        arg=case.tracking_number,
        timeout=3000,
    )
    assert due_text(page, case.tracking_number) == "terlambat 1 j"
    assert page.js_errors == []
