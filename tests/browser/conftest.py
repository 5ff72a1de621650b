"""Real-browser tests: Debian's chromium driven by playwright against the app served by uvicorn.

The app runs in a thread of the test process on a free port, on a copy of the demo database,
with a virtual clock the tests move (to show a breach). Each person (citizen, admin, field
officer) gets a browser context of their own, so cookies never mix. Screenshots of the main
pages go to ``tests/browser/artifacts/`` (gitignored).

Without ``/usr/bin/chromium`` the tests are skipped with the reason, except in CI (``CI=true``),
where a missing browser is a failure: ``make browser`` (run by ``make test``) installs it.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from rules.loader import Catalog
from sop_platform.db import make_engine
from sop_platform.demo import DEMO_PASSWORD, set_up
from sop_platform.engine import CaseEngine
from sop_platform.registry import Registry
from sop_platform.timekeeping import VirtualClock
from tests.web.support import START

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SECRET = "browser-test-secret-" + "z" * 40
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _browser_or_skip() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Site:
    """The running app: its address, clock and engine (to look behind the pages)."""

    url: str
    clock: VirtualClock
    engine: Engine
    cases: CaseEngine
    registry: Registry


# Module scope, not session: playwright's sync API keeps an event loop running in the main
# thread while it is open, which would break later tests that call asyncio.run().
@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> Iterator[Site]:
    _browser_or_skip()
    import uvicorn

    from web.app import create_app

    root = tmp_path_factory.mktemp("browser-site")
    engine = make_engine(f"sqlite:///{root / 'demo.db'}")
    registry, _logins = set_up(engine, catalog, START)
    clock = VirtualClock(START)
    app = create_app(
        engine,
        registry,
        clock,
        secret=SECRET,
        store_dir=root / "store",
        uploads_dir=root / "uploads",
        login_attempts=1000,  # every test signs in from 127.0.0.1
        poll_seconds=600,  # the tests reload themselves; no polling in the middle of a click
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="browser-site", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start for the browser tests")
        time.sleep(0.05)
    try:
        yield Site(
            f"http://127.0.0.1:{port}", clock, engine, CaseEngine(engine, registry, clock), registry
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# What the browser logs for a refusal the page shows in place (a 4xx that htmx swaps) is
# expected; anything else on the console (a script error, a CSP refusal) is a failure.
EXPECTED = (
    re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d"),
    re.compile(r"Response Status Error Code 4\d\d"),
)


def _real_error(message: Any) -> bool:
    return message.type == "error" and not any(p.search(message.text) for p in EXPECTED)


class People:
    """A browser context (its own cookies) per person; pages on the site's address."""

    def __init__(self, browser: Any, site: Site) -> None:
        self.browser = browser
        self.site = site
        self.contexts: list[Any] = []

    def page(self, *, phone: bool = False, lang: str | None = None) -> Any:
        options: dict[str, Any] = {
            "base_url": self.site.url,
            "viewport": PHONE if phone else DESKTOP,
            "locale": "id-ID",
            "timezone_id": "Asia/Jakarta",
        }
        if phone:
            options.update({"is_mobile": True, "has_touch": True, "device_scale_factor": 2})
        context = self.browser.new_context(**options)
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if _real_error(m) else None)
        page.js_errors = errors  # checked by the tests: no script errors, no CSP refusals
        return page

    def staff(self, username: str, *, phone: bool = False) -> Any:
        page = self.page(phone=phone)
        sign_in(page, username)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def sign_in(page: Any, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/masuk")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/antrean**")


@pytest.fixture
def people(browser: Any, site: Site) -> Iterator[People]:
    crowd = People(browser, site)
    yield crowd
    crowd.close()


def shot(page: Any, name: str) -> Path:
    """A full-page screenshot in the artifacts folder."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
