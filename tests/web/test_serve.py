"""``web.serve``: the app built from the environment, its secret, and the ``sop`` sub-commands."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest
from litestar.testing import TestClient

from sop_platform import config
from tests.conftest import DEFINITIONS
from web import serve


def test_build_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOP_DATABASE_URL", f"sqlite:///{tmp_path / 'sop.db'}")
    monkeypatch.setenv("SOP_DEFINITIONS", str(DEFINITIONS))
    monkeypatch.setenv("SOP_WEB_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("SOP_WEB_SECRET", raising=False)
    monkeypatch.delenv("SOP_DEMO", raising=False)
    app, logins = serve.build()
    assert logins == []  # no demo set-up unless asked
    with TestClient(app) as client:
        assert "upik-pengaduan" in client.get("/lapor").text
    secret = (tmp_path / "store" / "secret").read_text().strip()
    assert len(secret) >= 32
    assert config.load().secret() == secret  # stable across restarts
    assert (tmp_path / "store" / "secret").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("SOP_WEB_SECRET", "s" * 40)
    assert config.load().secret() == "s" * 40


def test_sop_serve_and_run_sub_commands() -> None:
    parser = argparse.ArgumentParser(prog="sop")
    sub = parser.add_subparsers(dest="command", required=True)
    serve.add_parsers(sub)
    args = parser.parse_args(["serve", "--host", "0.0.0.0", "--port", "9000", "--workers", "3"])
    assert (args.func, args.host, args.port, args.workers) == (serve.cmd_serve, "0.0.0.0", 9000, 3)
    args = parser.parse_args(["run"])
    # unset: SOP_WEB_HOST / SOP_WEB_PORT, else 127.0.0.1:8000 (sop_platform.config)
    assert (args.func, args.host, args.port) == (serve.cmd_run, None, None)
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--workers", "0"])


def test_serve_runs_uvicorn_with_the_built_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: list[dict[str, object]] = []
    monkeypatch.setenv("SOP_WEB_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("SOP_WEB_WORKERS", raising=False)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    # serve() sets variables for its worker processes: keep them out of the other tests
    monkeypatch.setattr(os, "environ", dict(os.environ))
    monkeypatch.setattr(serve, "prepare", lambda config, demo=False: [])
    monkeypatch.setattr(serve, "build_app", lambda config: "APP")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    serve.serve("127.0.0.1", 8123)
    assert calls[0]["app"] == "APP" and calls[0]["port"] == 8123
    assert calls[0]["proxy_headers"] is True
    # several processes: uvicorn gets the import string of the factory, each worker builds its
    # own app, and the request counters are summed through prometheus_client's folder
    serve.serve("127.0.0.1", 8124, workers=3)
    assert calls[1]["app"] == serve.APP_FACTORY and calls[1]["factory"] is True
    assert calls[1]["workers"] == 3
    assert os.environ["SOP_WEB_WORKERS"] == "3"
    assert Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]) == tmp_path / "store" / "metrics"
    assert config.load().workers_in_app is False  # the sweeper runs as its own service


def test_the_sweeper_runs_inside_the_app_and_stops_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time
    from datetime import timedelta

    from sop_platform.cases import NewCase
    from sop_platform.db import make_engine
    from sop_platform.engine import CaseEngine
    from sop_platform.registry import Registry
    from sop_platform.timekeeping import SystemClock, VirtualClock
    from tests.conftest import DEFINITIONS as DEFS

    url = f"sqlite:///{tmp_path / 'sop.db'}"
    monkeypatch.setenv("SOP_DATABASE_URL", url)
    monkeypatch.setenv("SOP_DEFINITIONS", str(DEFS))
    monkeypatch.setenv("SOP_WEB_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("SOP_WORKERS_IN_APP", raising=False)
    app, _ = serve.build()
    # A case whose 1 x 2 jam limit ran out an hour ago (submitted three hours back).
    engine = make_engine(url)
    from rules.loader import load_catalog

    registry = Registry(engine, load_catalog([DEFS]))
    past = VirtualClock(SystemClock().now() - timedelta(hours=3))
    case = CaseEngine(engine, registry, past).submit(
        NewCase("upik-pengaduan", "jss", "Sampah", {"kategori": "kebersihan"}, anonymous=True)
    )
    names = lambda: {t.name for t in threading.enumerate()}  # noqa: E731
    with TestClient(app):
        assert {"sop-sweeper", "sop-delivery"} <= names()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            kinds = [e.kind for e in CaseEngine(engine, registry, past).get(case.id).events]
            if "breach" in kinds:
                break
            time.sleep(0.2)
        assert "breach" in kinds  # noticed within seconds by the in-app sweeper
    assert not {"sop-sweeper", "sop-delivery"} & names()  # stopped with the app


def test_serve_refuses_to_start_on_a_configuration_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    ran: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.append(app))
    monkeypatch.setenv("SOP_DATABASE_URL", f"sqlite:///{tmp_path / 'sop.db'}")
    monkeypatch.setenv("SOP_DEFINITIONS", str(DEFINITIONS))
    monkeypatch.setenv("SOP_WEB_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("SOP_ENV", "production")
    monkeypatch.delenv("SOP_WEB_SECRET", raising=False)
    with pytest.raises(SystemExit) as stopped:
        serve.serve("127.0.0.1", 8125)
    assert stopped.value.code == 2 and "SOP_WEB_SECRET is missing" in capsys.readouterr().err
    # With a real secret but the demo set-up asked for (`sop run`): refused as well.
    monkeypatch.setenv("SOP_WEB_SECRET", "Zq8-vN3kT_w1mR7cY5pL0sB9xE2hJ6uA4dG")
    with pytest.raises(SystemExit) as stopped:
        serve.serve("127.0.0.1", 8125, demo=True)
    assert stopped.value.code == 2 and "refused in production" in capsys.readouterr().err
    assert ran == []  # nothing was served
