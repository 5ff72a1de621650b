"""Who may record a case in staff's name: the SOP's own non-citizen submission role, in its
region, and for unit staff only for a case routed to their unit (on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from sop_platform.cases import submission_scope
from sop_platform.db import transaction
from sop_platform.engine import Actor, CaseEngine, Grant, InvalidSubmission, NewCase
from sop_platform.models import CaseRow

CIREBON = "helpdesk-siaga-112"


def cirebon_case(actor: Actor | None, key: str | None = None) -> NewCase:
    return NewCase(
        sop_id=CIREBON,
        channel="telepon",
        text="Peta tidak menampilkan lokasi penelepon",
        fields={"aplikasi": "aplikasi_siaga_112"},
        submitted_by=actor,
        idempotency_key=key,
    )


def case_count(engine: Engine) -> int:
    with transaction(engine) as session:
        return int(session.exec(select(func.count()).select_from(CaseRow)).one())


def test_scope_is_the_submission_role_in_its_region_and_units(cases: CaseEngine) -> None:
    sop = cases.registry.latest(CIREBON).sop
    upik = cases.registry.latest("upik-pengaduan").sop
    mine = Actor("CT", (Grant("cirebon", "call_taker", "diskominfostik"),))
    assert submission_scope(mine, sop) == (True, frozenset({"diskominfostik"}))
    region_wide = Actor("Sistem", (Grant("cirebon", "call_taker"),))
    assert submission_scope(region_wide, sop) == (True, None)
    assert (
        submission_scope(Actor("K", (Grant("cirebon", "kasi_egov", "diskominfostik"),)), sop)[0]
        is False
    )
    assert (
        submission_scope(Actor("Y", (Grant("yogyakarta", "call_taker", "dlh"),)), sop)[0] is False
    )
    # A citizen SOP is never recorded in a clerk's name, whatever roles the clerk holds.
    operator = Actor("Op", (Grant("yogyakarta", "admin_pusat"), Grant("yogyakarta", "pelapor")))
    assert submission_scope(operator, upik) == (False, None)


def test_a_call_taker_of_another_unit_is_refused_and_nothing_is_written(
    cases: CaseEngine,
) -> None:
    before = case_count(cases.engine)
    other = Actor("CT Dinkes", (Grant("cirebon", "call_taker", "dinkes"),))
    with pytest.raises(InvalidSubmission) as err:
        cases.submit(cirebon_case(other))
    assert "di luar unit Anda (dinkes)" in err.value.message
    assert case_count(cases.engine) == before


def test_the_call_taker_of_the_help_desk_unit_records_the_case(cases: CaseEngine) -> None:
    actor = Actor("CT", (Grant("cirebon", "call_taker", "diskominfostik"),))
    view = cases.submit(cirebon_case(actor, key="staff:1"))
    assert view.unit == "diskominfostik"
    assert view.events[0].role == "call_taker" and view.events[0].actor_name == "CT"
    # A resent form with the same key is the same case.
    assert cases.submit(cirebon_case(actor, key="staff:1")).id == view.id
    assert case_count(cases.engine) == 1


def test_a_region_wide_grant_of_the_role_may_record_for_any_unit(cases: CaseEngine) -> None:
    view = cases.submit(cirebon_case(Actor("Sistem", (Grant("cirebon", "call_taker"),))))
    assert view.unit == "diskominfostik"
