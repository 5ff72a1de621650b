"""The ``sop`` command's platform side: db upgrade, publish, demo, user add, test, --help.

Each test points SOP_DATABASE_URL at its own SQLite file and runs in a temporary directory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, func, inspect
from sqlmodel import select

from rules.loader import Catalog
from rules.model import PLATFORM_ROLE_IDS, RoleKind
from sop_platform.accounts import authenticate
from sop_platform.cli import build_parser, main
from sop_platform.db import make_engine, transaction
from sop_platform.demo import DEMO_PASSWORD
from sop_platform.engine import Grant
from sop_platform.models import RoleGrant, SopDefinitionRow, UserAccount
from tests.conftest import DEFINITIONS

COMMANDS = [
    "validate",
    "compile",
    "list",
    "schema",
    "test",
    "publish",
    "db",
    "user",
    "apikey",
    "sweep",
    "deliver",
    "retention",
    "report",
    "backup",
    "restore",
    "demo",
    "serve",
    "run",
]


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SOP_DATABASE_URL", url)
    monkeypatch.setenv("SOP_DEFINITIONS", str(DEFINITIONS))
    monkeypatch.chdir(tmp_path)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _users(engine: Engine) -> list[str]:
    with transaction(engine) as session:
        return sorted(session.exec(select(UserAccount.username)).all())


def test_db_upgrade(db_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert "cli.db" in out and "(the newest)" in out
    assert {"case", "case_event", "step_visit", "sop_definition", "alembic_version"} <= set(
        inspect(engine).get_table_names()
    )
    assert main(["db", "upgrade"]) == 0  # again: nothing to do


def test_publish_twice(
    db_url: str, engine: Engine, catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["publish"]) == 0
    out = capsys.readouterr().out
    versions = sorted(catalog.sops)
    for sop_id, version in versions:
        assert f"published {sop_id} {version}" in out
    assert "unchanged" not in out

    assert main(["publish"]) == 0
    out = capsys.readouterr().out
    for sop_id, version in versions:
        assert f"unchanged {sop_id} {version}" in out
    assert "published" not in out
    with transaction(engine) as session:
        assert session.exec(select(func.count()).select_from(SopDefinitionRow)).one() == len(
            versions
        )


def test_publish_refuses_a_changed_version(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["publish"]) == 0
    raw = yaml.safe_load(
        (DEFINITIONS / "yogyakarta" / "upik-pengaduan.yaml").read_text(encoding="utf-8")
    )
    raw["title"] += " (diubah)"
    changed = tmp_path / "upik.yaml"
    changed.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    capsys.readouterr()
    assert main(["publish", str(DEFINITIONS / "yogyakarta" / "region.yaml"), str(changed)]) == 1
    err = capsys.readouterr().err
    assert "error:" in err and "upik-pengaduan" in err and "new version" in err


def _staff_roles(catalog: Catalog) -> set[tuple[str, str]]:
    """(region, role) for every non-citizen role of every region's newest SOPs, and the
    platform's own roles (compliance officer, region administrator) in every region."""
    return {
        (loaded.sop.region, rid)
        for loaded in catalog.latest().values()
        for rid, role in loaded.sop.roles.items()
        if role.kind is not RoleKind.citizen
    } | {(region, role) for region in catalog.regions for role in PLATFORM_ROLE_IDS}


def test_demo_prints_a_login_per_staff_role(
    db_url: str, engine: Engine, catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    expected = _staff_roles(catalog)
    assert expected, "the seed SOPs have staff roles"
    printed = set(re.findall(r"^\s+(\S+)\s", out, flags=re.MULTILINE))
    assert printed == {f"{region}.{role}" for region, role in expected}
    assert DEMO_PASSWORD in out
    assert _users(engine) == sorted(printed)
    # The logins work, with the role they are named after; unit staff hold one unit.
    actor = authenticate(engine, "yogyakarta.admin_opd", DEMO_PASSWORD)
    assert actor is not None
    ((grant),) = actor.grants
    assert (grant.region, grant.role) == ("yogyakarta", "admin_opd") and grant.unit is not None
    pusat = authenticate(engine, "yogyakarta.admin_pusat", DEMO_PASSWORD)
    assert pusat is not None and pusat.grants == (Grant("yogyakarta", "admin_pusat", None),)
    assert authenticate(engine, "yogyakarta.admin_opd", "salah") is None

    # Idempotent: the same logins, no new accounts or grants.
    with transaction(engine) as session:
        grants = session.exec(select(func.count()).select_from(RoleGrant)).one()
    assert main(["demo"]) == 0
    again = capsys.readouterr().out
    assert set(re.findall(r"^\s+(\S+)\s", again, flags=re.MULTILINE)) == printed
    assert _users(engine) == sorted(printed)
    with transaction(engine) as session:
        assert session.exec(select(func.count()).select_from(RoleGrant)).one() == grants


def test_user_add(db_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["publish"]) == 0  # the region must exist before a role in it can be granted
    capsys.readouterr()
    assert (
        main(["user", "add", "budi", "--role", "yogyakarta:admin_opd:dlh", "--name", "Budi"]) == 0
    )
    out = capsys.readouterr().out
    assert "user budi created with roles: yogyakarta:admin_opd:dlh" in out
    match = re.search(r"^password: (\S+)$", out, flags=re.MULTILINE)
    assert match, out
    password = match.group(1)
    actor = authenticate(engine, "budi", password)
    assert actor is not None
    assert actor.name == "Budi"
    assert actor.grants == (Grant("yogyakarta", "admin_opd", "dlh"),)
    assert authenticate(engine, "budi", password + "x") is None

    # A duplicate user: exit 1, nothing changed.
    assert main(["user", "add", "budi", "--role", "yogyakarta:admin_pusat"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert authenticate(engine, "budi", password) is not None
    assert _users(engine) == ["budi"]


def test_user_add_with_two_roles_and_a_password_on_stdin(
    db_url: str, engine: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    assert main(["publish"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("rahasia-sekali\n"))
    assert (
        main(
            [
                "user",
                "add",
                "sari",
                "--role",
                "yogyakarta:admin_pusat",
                "--role",
                "bantul:operator:dlh",
                "--password-stdin",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "password:" not in out  # a password the user typed is never echoed
    actor = authenticate(engine, "sari", "rahasia-sekali")
    assert actor is not None and actor.name == "sari"
    assert set(actor.grants) == {
        Grant("yogyakarta", "admin_pusat"),
        Grant("bantul", "operator", "dlh"),
    }


@pytest.mark.parametrize(
    "spec", ["yogyakarta", "yogyakarta:", ":admin_opd", "yogyakarta::dlh", "a:b:c:d", ""]
)
def test_a_bad_role_spec_exits_2(
    db_url: str, engine: Engine, spec: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["user", "add", "budi", "--role", spec]) == 2
    assert "region:role" in capsys.readouterr().err
    assert "user_account" not in inspect(engine).get_table_names() or _users(engine) == []


@pytest.mark.parametrize("publish_first", [True, False], ids=["unknown-region", "fresh-database"])
def test_user_add_in_a_region_not_in_the_database(
    db_url: str, engine: Engine, publish_first: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    if publish_first:
        assert main(["publish"]) == 0
    # Was: a crash with IntegrityError (FOREIGN KEY constraint failed) instead of an error.
    role = "atlantis:admin_opd" if publish_first else "yogyakarta:admin_opd:dlh"
    assert main(["user", "add", "budi", "--role", role]) == 1
    err = capsys.readouterr().err
    assert "error:" in err and "unknown region" in err
    if not publish_first:
        assert "sop publish" in err
    assert _users(engine) == []


def test_sop_test_runs_the_scenarios(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^\d+ passed, 0 failed$", out, flags=re.MULTILINE), out


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert re.search(rf"^\s+{command}\s", out, flags=re.MULTILINE), command
    # ... and nothing the parser knows is missing from that list.
    sub = next(a for a in build_parser()._subparsers._group_actions)  # type: ignore[union-attr]
    assert set(sub.choices) == set(COMMANDS)


@pytest.mark.parametrize(
    ("argv", "listed"), [(["db", "--help"], ["upgrade"]), (["user", "--help"], ["add"])]
)
def test_help_of_command_groups(
    argv: list[str], listed: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in listed:
        assert re.search(rf"^\s+{command}\s", out, flags=re.MULTILINE), command


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
