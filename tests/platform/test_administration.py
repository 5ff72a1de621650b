"""A region administrator's changes on SQLite and PostgreSQL: each comes with its audit entry in
the same transaction, a refusal writes nothing, and nothing outside the region is shown or
changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from sop_platform import administration as adm
from sop_platform import apikeys
from sop_platform.accounts import actor_for, add_user, authenticate
from sop_platform.cases import Actor, Grant, NewCase, NotFound, ReporterInfo
from sop_platform.engine import CaseEngine
from sop_platform.models import AuditEntry, RoleGrant, SopDefinitionRow, UserAccount
from sop_platform.registry import Registry
from sop_platform.timekeeping import VirtualClock

REGION = "yogyakarta"
UPIK = "upik-pengaduan"


@pytest.fixture
def admin(db_engine: Engine, registry: Registry, clock: VirtualClock) -> Actor:
    add_user(
        db_engine,
        "yk.admin",
        "Admin Yogya",
        "pw-admin-123",
        [Grant(REGION, "admin_daerah")],
        clock.now(),
    )
    return actor_for(db_engine, "yk.admin")


def change(admin: Actor, clock: VirtualClock, region: str = REGION) -> adm.Change:
    return adm.Change(admin, region, clock.now(), request_id="req-1")


def audit_rows(engine: Engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)))  # type: ignore[arg-type]


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def test_create_user_writes_the_account_its_grants_and_one_audit_entry(
    db_engine: Engine, registry: Registry, clock: VirtualClock, admin: Actor
) -> None:
    user_id, password = adm.create_user(
        db_engine,
        registry,
        change(admin, clock),
        "Siti.Dinkes",
        "Siti Aminah",
        [("admin_opd", "dinkes"), ("admin_pusat", None)],
        email="siti@example.org",
    )
    assert len(password) >= 16
    signed_in = authenticate(db_engine, "siti.dinkes", password)
    assert signed_in is not None
    assert set(signed_in.grants) == {
        Grant(REGION, "admin_opd", "dinkes"),
        Grant(REGION, "admin_pusat", None),
    }
    [entry] = audit_rows(db_engine)
    assert (entry.action, entry.target, entry.actor_name) == (
        "user.create",
        "user:siti.dinkes",
        "Admin Yogya",
    )
    assert entry.actor_user_id == admin.user_id
    assert entry.region_id == REGION and entry.request_id == "req-1"
    assert entry.before is None
    assert entry.after == {
        "username": "siti.dinkes",
        "full_name": "Siti Aminah",
        "email": "siti@example.org",
        "phone": None,
        "active": True,
        "grants": ["admin_opd:dinkes", "admin_pusat"],
    }
    assert password not in repr(entry.after)
    assert adm.user(db_engine, admin, REGION, user_id).full_name == "Siti Aminah"


@pytest.mark.parametrize(
    ("username", "grants", "message"),
    [
        ("ab", [("admin_opd", "dinkes")], "Username"),
        ("yk.admin", [("admin_opd", "dinkes")], "taken"),
        ("baru", [], "at least one role"),
        ("baru", [("kepala_planet", None)], "Unknown role"),
        ("baru", [("admin_opd", None)], "needs a unit"),
        ("baru", [("admin_opd", "dinas_bulan")], "does not exist"),
        ("baru", [("admin_pusat", "dinkes")], "not tied to a unit"),
        ("baru", [("admin_opd", "dinkes"), ("bogus", None)], "Unknown role"),
    ],
)
def test_bad_user_input_is_refused_and_writes_nothing(
    db_engine: Engine,
    registry: Registry,
    clock: VirtualClock,
    admin: Actor,
    username: str,
    grants: list[tuple[str, str | None]],
    message: str,
) -> None:
    users_before = count(db_engine, UserAccount)
    with pytest.raises(adm.AdminError, match=message):
        adm.create_user(db_engine, registry, change(admin, clock), username, "Nama", grants)
    assert count(db_engine, UserAccount) == users_before
    assert audit_rows(db_engine) == []


def test_only_the_regions_administrator_may_act_and_only_in_that_region(
    db_engine: Engine, registry: Registry, clock: VirtualClock, admin: Actor
) -> None:
    clerk = Actor("Clerk", (Grant(REGION, "admin_pusat"),), user_id=None)
    with pytest.raises(adm.NotInRegion):
        adm.create_user(
            db_engine, registry, change(clerk, clock), "baru", "Baru", [("admin_pusat", None)]
        )
    with pytest.raises(adm.NotInRegion):  # the Yogyakarta admin in Jambi
        adm.create_user(
            db_engine,
            registry,
            change(admin, clock, "jambi"),
            "baru",
            "Baru",
            [("admin_koordinator", None)],
        )
    with pytest.raises(adm.NotInRegion):
        adm.users(db_engine, admin, "jambi")
    assert audit_rows(db_engine) == []


def test_users_with_grants_elsewhere_are_neither_listed_nor_changed(
    db_engine: Engine, registry: Registry, clock: VirtualClock, admin: Actor
) -> None:
    jambi_id = add_user(
        db_engine,
        "jambi.koord",
        "Koordinator",
        "pw-1234567",
        [Grant("jambi", "admin_koordinator")],
        clock.now(),
    )
    both_id = add_user(
        db_engine,
        "dua.daerah",
        "Dua Daerah",
        "pw-1234567",
        [Grant(REGION, "admin_pusat"), Grant("jambi", "admin_koordinator")],
        clock.now(),
    )
    listed = {u.username for u in adm.users(db_engine, admin, REGION)}
    assert "yk.admin" in listed
    assert "jambi.koord" not in listed and "dua.daerah" not in listed
    for target in (jambi_id, both_id):
        with pytest.raises(adm.NotInRegion):
            adm.set_active(db_engine, change(admin, clock), target, False)
        with pytest.raises(adm.NotInRegion):
            adm.reset_password(db_engine, change(admin, clock), target)
        with pytest.raises(adm.NotInRegion):
            adm.grant_role(db_engine, registry, change(admin, clock), target, "admin_pusat", None)
    assert authenticate(db_engine, "jambi.koord", "pw-1234567") is not None
    assert audit_rows(db_engine) == []


def test_disable_reset_grant_and_revoke_each_leave_before_and_after(
    db_engine: Engine, registry: Registry, clock: VirtualClock, admin: Actor
) -> None:
    user_id, password = adm.create_user(
        db_engine, registry, change(admin, clock), "budi", "Budi", [("admin_opd", "dinkes")]
    )
    adm.set_active(db_engine, change(admin, clock), user_id, False)
    assert authenticate(db_engine, "budi", password) is None
    adm.set_active(db_engine, change(admin, clock), user_id, False)  # no change, no entry
    adm.set_active(db_engine, change(admin, clock), user_id, True)
    fresh = adm.reset_password(db_engine, change(admin, clock), user_id)
    assert authenticate(db_engine, "budi", password) is None
    assert authenticate(db_engine, "budi", fresh) is not None
    adm.grant_role(db_engine, registry, change(admin, clock), user_id, "admin_opd", "dlh")
    adm.revoke_role(db_engine, change(admin, clock), user_id, "admin_opd", "dinkes")
    actor = actor_for(db_engine, "budi")
    assert actor.grants == (Grant(REGION, "admin_opd", "dlh"),)

    entries = [(e.action, e.before, e.after) for e in audit_rows(db_engine)][1:]
    assert entries == [
        ("user.disable", {"active": True}, {"active": False}),
        ("user.enable", {"active": False}, {"active": True}),
        ("user.reset_password", None, None),
        (
            "role.grant",
            {"grants": ["admin_opd:dinkes"]},
            {"grants": ["admin_opd:dinkes", "admin_opd:dlh"]},
        ),
        (
            "role.revoke",
            {"grants": ["admin_opd:dinkes", "admin_opd:dlh"]},
            {"grants": ["admin_opd:dlh"]},
        ),
    ]
    with pytest.raises(adm.AdminError, match="last role"):
        adm.revoke_role(db_engine, change(admin, clock), user_id, "admin_opd", "dlh")
    with pytest.raises(adm.AdminError, match="already granted"):
        adm.grant_role(db_engine, registry, change(admin, clock), user_id, "admin_opd", "dlh")
    with pytest.raises(adm.AdminError, match="yourself"):
        adm.set_active(db_engine, change(admin, clock), admin.user_id or 0, False)
    assert len(audit_rows(db_engine)) == 6


def test_a_failed_change_leaves_no_audit_entry_and_no_change(
    db_engine: Engine,
    registry: Registry,
    clock: VirtualClock,
    admin: Actor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user_id, _ = adm.create_user(
        db_engine, registry, change(admin, clock), "budi", "Budi", [("admin_opd", "dinkes")]
    )

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(adm, "record", broken)
    with pytest.raises(RuntimeError):
        adm.set_active(db_engine, change(admin, clock), user_id, False)
    assert actor_for(db_engine, "budi").name == "Budi"  # still active
    assert [e.action for e in audit_rows(db_engine)] == ["user.create"]


def test_deactivated_unit_takes_no_new_grants_and_contact_data_is_audited(
    db_engine: Engine, registry: Registry, clock: VirtualClock, admin: Actor
) -> None:
    adm.set_unit_active(db_engine, change(admin, clock), "dlh", False)
    with pytest.raises(adm.AdminError, match="not active"):
        adm.create_user(
            db_engine, registry, change(admin, clock), "baru", "Baru", [("admin_opd", "dlh")]
        )
    adm.set_unit_contact(
        db_engine, change(admin, clock), "dinkes", "pengaduan@dinkes.example", "0274 555 123"
    )
    with pytest.raises(adm.AdminError, match="not an e-mail"):
        adm.set_unit_contact(db_engine, change(admin, clock), "dinkes", "bukan-email", None)
    with pytest.raises(adm.NotInRegion):
        adm.set_unit_active(db_engine, change(admin, clock), "dinas_bulan", False)
    units = {u.key: u for u in adm.units(db_engine, admin, REGION)}
    assert not units["dlh"].active
    assert units["dinkes"].contact_email == "pengaduan@dinkes.example"
    assert [(e.action, e.target, e.after) for e in audit_rows(db_engine)] == [
        ("unit.deactivate", "unit:dlh", {"active": False}),
        (
            "unit.contact",
            "unit:dinkes",
            {"contact_email": "pengaduan@dinkes.example", "contact_phone": "0274 555 123"},
        ),
    ]
    # Publishing the region file again keeps what the administrator set.
    registry.publish(clock.now())
    units = {u.key: u for u in adm.units(db_engine, admin, REGION)}
    assert not units["dlh"].active and units["dinkes"].contact_phone == "0274 555 123"


def test_a_withdrawn_version_takes_no_new_cases_but_its_cases_keep_running(
    db_engine: Engine, registry: Registry, clock: VirtualClock, admin: Actor, cases: CaseEngine
) -> None:
    with Session(db_engine) as session:
        row = session.exec(select(SopDefinitionRow).where(SopDefinitionRow.sop_id == UPIK)).one()
    version = row.version
    running = cases.submit(
        NewCase(
            UPIK,
            "jss",
            "Lampu jalan mati",
            {"kategori": "kesehatan"},
            reporter=ReporterInfo(name="Ani"),
        )
    )
    adm.set_published(db_engine, registry, change(admin, clock), UPIK, version, False)
    with pytest.raises(NotFound, match="tidak dikenal"):
        cases.submit(
            NewCase(
                UPIK, "jss", "Lagi", {"kategori": "kesehatan"}, reporter=ReporterInfo(name="Ani")
            )
        )
    offers = cases.available_actions(
        running.id, Actor("Admin OPD", (Grant(REGION, "admin_opd", running.unit),))
    )
    assert offers, "a case on a withdrawn version still offers its actions"
    moved = cases.act(
        running.id,
        Actor("Admin OPD", (Grant(REGION, "admin_opd", running.unit),)),
        offers[0].action,
        {"alasan": "x", "jawaban": "y"} if offers[0].requires else {},
    )
    assert moved.revision == running.revision + 1
    with pytest.raises(adm.NotInRegion):  # Jambi's SOP is not Yogyakarta's to withdraw
        adm.set_published(db_engine, registry, change(admin, clock), "lapor", "2022", False)

    adm.set_published(db_engine, registry, change(admin, clock), UPIK, version, True)
    clock.advance(timedelta(minutes=1))
    again = cases.submit(
        NewCase(UPIK, "jss", "Lagi", {"kategori": "kesehatan"}, reporter=ReporterInfo(name="Ani"))
    )
    assert again.sop_version == version
    assert [e.action for e in audit_rows(db_engine)] == ["sop.withdraw", "sop.publish"]


def test_the_log_pages_newest_first_filters_and_exports_csv(
    db_engine: Engine, registry: Registry, clock: VirtualClock, admin: Actor
) -> None:
    formula = Actor("=HYPERLINK(1)", admin.grants, admin.user_id)
    for i in range(7):
        adm.create_user(
            db_engine,
            registry,
            change(formula, clock),
            f"user{i}",
            f"=Nama {i}",
            [("admin_pusat", None)],
        )
        clock.advance(timedelta(minutes=1))
    adm.set_unit_active(db_engine, change(admin, clock), "dlh", False)
    first = adm.audit_page(db_engine, admin, REGION, limit=3)
    assert [e.action for e in first.rows] == ["unit.deactivate", "user.create", "user.create"]
    assert first.next_after == first.rows[-1].id
    seen = [e.id or 0 for e in first.rows]
    after = first.next_after
    while after is not None:
        page = adm.audit_page(db_engine, admin, REGION, after=after, limit=3)
        seen += [e.id or 0 for e in page.rows]
        after = page.next_after
    assert seen == sorted(seen, reverse=True) and len(seen) == 8

    users_only = adm.audit_page(db_engine, admin, REGION, adm.AuditFilter(action="user."))
    assert len(users_only.rows) == 7 and users_only.next_after is None
    by_target = adm.audit_page(db_engine, admin, REGION, adm.AuditFilter(target="USER3"))
    assert [e.target for e in by_target.rows] == ["user:user3"]
    assert adm.audit_page(db_engine, admin, REGION, adm.AuditFilter(actor="nobody")).rows == []

    text = "".join(adm.audit_csv(db_engine, admin, REGION, adm.AuditFilter(action="user.create")))
    lines = text.strip().splitlines()
    assert lines[0] == ",".join(adm.CSV_COLUMNS)
    assert len(lines) == 8
    assert ",'=HYPERLINK(1)," in lines[1]  # a spreadsheet would run a leading '=' as a formula
    with pytest.raises(adm.NotInRegion):
        list(adm.audit_csv(db_engine, Actor("x", ()), REGION))


def test_the_log_of_one_region_is_not_shown_in_another(
    db_engine: Engine, registry: Registry, clock: VirtualClock, admin: Actor
) -> None:
    adm.create_user(
        db_engine, registry, change(admin, clock), "budi", "Budi", [("admin_pusat", None)]
    )
    add_user(
        db_engine,
        "jb.admin",
        "Admin Jambi",
        "pw-1234567",
        [Grant("jambi", "admin_daerah")],
        clock.now(),
    )
    jambi_admin = actor_for(db_engine, "jb.admin")
    assert adm.audit_page(db_engine, jambi_admin, "jambi").rows == []
    with Session(db_engine) as session:
        assert session.exec(select(func.count()).select_from(RoleGrant)).one() == 3


def test_api_keys_are_created_and_revoked_with_their_audit_entries(
    db_engine: Engine, registry: Registry, clock: VirtualClock, admin: Actor
) -> None:
    made = adm.create_api_key(
        db_engine, registry, change(admin, clock), "Aplikasi JSS", ["admin_opd"], "dinkes"
    )
    assert made.key.startswith(f"sop_{made.prefix}_")
    assert apikeys.authenticate(db_engine, made.key, clock.now()) is not None
    [listed] = adm.api_keys(db_engine, admin, REGION)
    assert (listed.prefix, listed.roles, listed.unit) == (made.prefix, ("admin_opd",), "dinkes")
    with pytest.raises(adm.AdminError, match="need --unit"):
        adm.create_api_key(db_engine, registry, change(admin, clock), "x", ["admin_opd"], None)
    with pytest.raises(adm.NotInRegion):
        adm.create_api_key(
            db_engine, registry, change(admin, clock, "jambi"), "x", ["admin_koordinator"], None
        )
    adm.revoke_api_key(db_engine, change(admin, clock), made.prefix)
    adm.revoke_api_key(db_engine, change(admin, clock), made.prefix)  # again: no new entry
    assert apikeys.authenticate(db_engine, made.key, clock.now()) is None
    entries = [(e.action, e.target, e.after) for e in audit_rows(db_engine)]
    assert entries == [
        (
            "apikey.create",
            f"apikey:{made.prefix}",
            {"name": "Aplikasi JSS", "roles": ["admin_opd"], "unit": "dinkes"},
        ),
        ("apikey.revoke", f"apikey:{made.prefix}", {"revoked_at": clock.now().isoformat()}),
    ]
    assert made.key not in repr(entries)


def test_another_regions_key_cannot_be_revoked(
    db_engine: Engine, registry: Registry, clock: VirtualClock, admin: Actor
) -> None:
    jambi = apikeys.create(
        db_engine, registry.catalog, name="Jambi", region="jambi", now=clock.now()
    )
    with pytest.raises(adm.NotInRegion):
        adm.revoke_api_key(db_engine, change(admin, clock), jambi.prefix)
    assert apikeys.authenticate(db_engine, jambi.key, clock.now()) is not None
    assert adm.api_keys(db_engine, admin, REGION) == []
    assert audit_rows(db_engine) == []
