"""The configuration: every variable read in one place, every problem reported at once, the
database checked at start, and production refusing placeholder secrets and demo accounts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from sop_platform import config
from sop_platform.accounts import add_user
from sop_platform.cli import main
from sop_platform.db import make_engine
from sop_platform.demo import DEMO_PASSWORD
from sop_platform.engine import Grant
from sop_platform.models import UserAccount
from sop_platform.registry import Registry

GOOD_SECRET = "Qm3v9-xY_2kLp0sTz8RwN4bHc7dJf1gE6aUo5iK"


def test_an_empty_environment_is_a_working_development_set_up() -> None:
    cfg = config.load({})
    assert cfg.database_url == "sqlite:///sop.db"
    assert not cfg.production and cfg.web_secret is None
    assert cfg.web_workers == 1 and cfg.workers_in_app  # one process: the sweeper runs inside
    assert (cfg.host, cfg.port, cfg.log_format, cfg.log_level) == (
        "127.0.0.1",
        8000,
        "text",
        "INFO",
    )


def test_every_problem_is_reported_at_once_naming_its_variable() -> None:
    with pytest.raises(config.ConfigError) as raised:
        config.load(
            {
                "SOP_DATABASE_URL": "mysql://root@db/sop",
                "SOP_WEB_SECRET": "short",
                "SOP_WEB_SECURE_COOKIES": "maybe",
                "SOP_WEB_PORT": "80000",
                "SOP_LOG_FORMAT": "xml",
                "SOP_ENV": "staging",
                "SOP_SMTP_HOST": "smtp.example.go.id",  # without SOP_SMTP_FROM
            }
        )
    problems = raised.value.problems
    assert len(problems) == 7, problems
    for name in (
        "SOP_DATABASE_URL",
        "SOP_WEB_SECRET",
        "SOP_WEB_SECURE_COOKIES",
        "SOP_WEB_PORT",
        "SOP_LOG_FORMAT",
        "SOP_ENV",
        "SOP_SMTP_FROM",
    ):
        assert any(name in p for p in problems), name
    assert "unsupported database 'mysql'" in str(raised.value)
    assert "5 characters long; it must have at least 32" in str(raised.value)
    assert str(raised.value).startswith("7 configuration problems:")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a database URL"),
        ("sqlite://", "a SQLite URL needs a file"),
        ("postgresql+asyncpg://u@h/db", "reached through psycopg"),
        ("postgresql+psycopg://u@h", "needs a database name"),
        ("oracle://u@h/db", "unsupported database 'oracle'"),
    ],
)
def test_a_wrong_database_url_says_what_to_write(url: str, message: str) -> None:
    with pytest.raises(config.ConfigError, match=message):
        config.load({"SOP_DATABASE_URL": url})


@pytest.mark.parametrize(
    "url", ["sqlite:///var/lib/sop/sop.db", "postgresql+psycopg://sop:pw@db.local:5432/sop"]
)
def test_good_database_urls_pass(url: str) -> None:
    assert config.load({"SOP_DATABASE_URL": url}).database_url == url
    assert "pw" not in config.load({"SOP_DATABASE_URL": url}).safe_database_url


def test_production_needs_a_real_secret_and_no_demo() -> None:
    with pytest.raises(config.ConfigError, match="SOP_WEB_SECRET is missing"):
        config.load({"SOP_ENV": "production"})
    for placeholder in (config.EXAMPLE_SECRET, "a" * 40, "abababababababababababababababab"):
        with pytest.raises(config.ConfigError, match="example or a placeholder"):
            config.load({"SOP_ENV": "production", "SOP_WEB_SECRET": placeholder})
    with pytest.raises(config.ConfigError, match=r"SOP_DEMO=1 .* refused in production"):
        config.load({"SOP_ENV": "production", "SOP_WEB_SECRET": GOOD_SECRET, "SOP_DEMO": "1"})
    cfg = config.load({"SOP_ENV": "production", "SOP_WEB_SECRET": GOOD_SECRET})
    assert cfg.production and cfg.secret() == GOOD_SECRET
    # development accepts the placeholder (it is still 32+ characters)
    assert config.load({"SOP_WEB_SECRET": config.EXAMPLE_SECRET}).web_secret


def test_several_app_processes_leave_the_workers_to_their_own_services() -> None:
    assert config.load({"SOP_WEB_WORKERS": "4"}).workers_in_app is False
    assert config.load({"SOP_WEB_WORKERS": "4", "SOP_WORKERS_IN_APP": "1"}).workers_in_app
    assert config.load({"SOP_WORKERS_IN_APP": "0"}).workers_in_app is False
    with pytest.raises(config.ConfigError, match="SOP_WEB_WORKERS must be a whole number"):
        config.load({"SOP_WEB_WORKERS": "0"})


def test_the_generated_secret_is_kept_in_the_store(tmp_path: Path) -> None:
    cfg = config.load({"SOP_WEB_STORE": str(tmp_path / "store")})
    made = cfg.secret()
    assert len(made) >= 32 and cfg.secret() == made
    assert (tmp_path / "store" / "secret").stat().st_mode & 0o077 == 0


def test_an_unreachable_database_is_named_with_its_reason() -> None:
    url = "postgresql+psycopg://sop:geheim@127.0.0.1:1/sop"
    cfg = config.load({"SOP_DATABASE_URL": url})
    engine = make_engine(url, connect_args={"connect_timeout": 2})
    with pytest.raises(config.ConfigError) as raised:
        config.check_database(engine, cfg)
    text = str(raised.value)
    assert "does not answer" in text and "127.0.0.1:1" in text
    assert "geheim" not in text  # the password is never shown


def test_the_sop_command_stops_with_the_problem_and_exit_code_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SOP_DATABASE_URL", "postgres://nobody@nowhere")
    with pytest.raises(SystemExit) as stopped:
        main(["db", "upgrade"])
    assert stopped.value.code == 2
    assert "SOP_DATABASE_URL" in capsys.readouterr().err


def _now() -> datetime:
    from datetime import UTC

    return datetime(2025, 11, 24, 2, 0, tzinfo=UTC)


def test_production_refuses_to_start_while_demo_accounts_exist(
    db_engine: Engine, registry: Registry
) -> None:
    production = config.load({"SOP_ENV": "production", "SOP_WEB_SECRET": GOOD_SECRET})
    grant = [Grant("yogyakarta", "admin_pusat", None)]
    add_user(
        db_engine, "yogyakarta.admin_pusat", "Admin Pusat (demo)", DEMO_PASSWORD, grant, _now()
    )
    add_user(
        db_engine, "yogyakarta.kepatuhan", "Kepatuhan (demo)", "a-real-one-2025", grant, _now()
    )
    add_user(db_engine, "sri", "Sri Wahyuni", "another-real-one", grant, _now())
    config.check_production(db_engine, config.load({}))  # development: allowed
    with pytest.raises(config.ConfigError) as raised:
        config.check_production(db_engine, production)
    message = str(raised.value)
    assert "1 active account(s) still use the demo password (yogyakarta.admin_pusat)" in message
    assert "kepatuhan" not in message and "sri" not in message
    with db_engine.begin() as conn:
        conn.execute(
            update(UserAccount.__table__)  # type: ignore[attr-defined]
            .where(UserAccount.__table__.c.username == "yogyakarta.admin_pusat")  # type: ignore[attr-defined]
            .values(active=False)
        )
    config.check_production(db_engine, production)  # disabled: no longer counts


def test_the_readme_lists_every_variable() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert config.markdown_table() in readme
    documented = {v.name for v in config.VARIABLES}
    source = (Path(config.__file__)).read_text(encoding="utf-8")
    import re

    read = set(re.findall(r'"(SOP_[A-Z_]+)"', source)) - {"SOP_TEST_DATABASE_URL"}
    assert read <= documented, read - documented
