"""The evaluator against durable_rules' known pitfalls, each pinned by a test.

The facts come from measurements on these machines (see ARCHITECTURE.md): timer threads started
by ``Host()``, the 1024-session cap, crashes on ``delete_state``, events parked silently when a
guard is false, swallowed action exceptions, overlapping rules, and thread-unsafety.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from durable import engine as dr

from rules.evaluator import CompiledSop, Evaluator, EvaluatorError, normalise_fields
from rules.loader import Catalog

UPIK = "upik-pengaduan"


@pytest.fixture
def upik(compiled: dict[str, CompiledSop]) -> CompiledSop:
    return compiled[UPIK]


def test_no_timer_threads_are_started(catalog: Catalog) -> None:
    before = threading.active_count()
    ev = Evaluator()
    c = ev.register(catalog.latest()[UPIK])
    for _ in range(50):
        ev.decide(c, "verifikasi", ["admin_opd"], "terima")
    assert threading.active_count() == before


def test_thousands_of_cases_share_one_session(upik: CompiledSop, evaluator: Evaluator) -> None:
    # 1024 live sessions per ruleset is durable_rules' cap (a bare MemoryError on the next one).
    # Decisions for 3000 different cases must not open a session each.
    for case_number in range(3000):
        fields = {"kategori": "kebersihan", "alasan": f"aduan {case_number} salah alamat"}
        d = evaluator.decide(upik, "verifikasi", ["admin_opd"], "tolak", fields)
        assert d.allowed and d.to == "tinjauan_pusat"
    assert evaluator.session_is_clean(upik)


def test_refused_events_are_not_parked(upik: CompiledSop, evaluator: Evaluator) -> None:
    # A refused event must not stay in the session and fire later when another event arrives.
    refused = evaluator.decide(upik, "verifikasi", ["pelapor"], "terima")
    assert refused.reason == "not_your_role"
    assert evaluator.session_is_clean(upik)
    later = evaluator.decide(upik, "penerimaan", ["petugas_lapangan"], "ambil")
    assert later.allowed and later.to == "pengerjaan"
    assert evaluator.session_is_clean(upik)


def test_no_session_is_ever_deleted(
    upik: CompiledSop, evaluator: Evaluator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # delete_state on a session where no action ran crashed the process: never called.
    def boom(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("delete_state must not be called")

    monkeypatch.setattr(dr.Ruleset, "delete_state", boom)
    monkeypatch.setattr(dr.Host, "delete_state", boom)
    for action in ("terima", "tolak", "ambil", "selesai"):
        evaluator.decide(upik, "verifikasi", ["admin_opd"], action, {"alasan": "x"})


def test_rule_actions_never_run_inside_durable_rules(
    upik: CompiledSop, evaluator: Evaluator
) -> None:
    # durable_rules swallows an exception raised by a rule action into state["exception"]. So no
    # Python action runs inside it: the evaluator reads which rule fired from the action queue.
    state = evaluator._host.post(
        upik.ruleset_name,
        {"sid": "elsewhere", "step": "verifikasi", "action": "terima", "r": {"admin_opd": True}},
    )
    assert "must not run through the host" in state["exception"]  # the pitfall, pinned
    d = evaluator.decide(upik, "verifikasi", ["admin_opd"], "terima")
    assert d.allowed and d.to == "penerimaan"
    assert evaluator.session_is_clean(upik)


def test_an_event_no_rule_answers_is_an_error_not_a_silent_none(catalog: Catalog) -> None:
    # Without the catch-all rule durable_rules raises MessageNotHandledException; the evaluator
    # turns any such gap into EvaluatorError instead of answering nothing.
    loaded = catalog.latest()[UPIK]
    ev = Evaluator()
    c = ev.register(loaded)
    gap = {k: v for k, v in c.ruleset.items() if k != "any.step"}
    handle_name = c.ruleset_name + "_gap"
    ev._host.register_rulesets({handle_name: json.loads(json.dumps(gap))})
    broken = CompiledSop(
        c.sop, c.content_hash, handle_name, gap, ev._host.get_ruleset(handle_name)._handle
    )
    with pytest.raises(EvaluatorError, match="no rule answered"):
        ev.decide(broken, "langkah_lama", ["admin_opd"], "terima")


def test_exactly_one_rule_answers_every_event(upik: CompiledSop, evaluator: Evaluator) -> None:
    # Overlapping rules would fire one silently; priorities make exactly one answer, including
    # events that match nothing specific (durable_rules would raise MessageNotHandledException).
    for step in [*upik.sop.steps, "langkah-lama"]:
        for action in ["terima", "tolak", "ambil", "selesai", "teruskan", "tidak-ada"]:
            for roles in (["admin_opd"], ["pelapor"], [], ["admin_opd", "admin_pusat"]):
                d = evaluator.decide(upik, step, roles, action, {"alasan": "a", "jawaban": "j"})
                assert d.allowed or d.reason is not None
    assert evaluator.session_is_clean(upik)


def test_concurrent_callers_get_their_own_answers(upik: CompiledSop, evaluator: Evaluator) -> None:
    questions = [
        ("verifikasi", ["admin_opd"], "terima", {}, "penerimaan"),
        ("verifikasi", ["admin_opd"], "tolak", {"alasan": "bukan wewenang"}, "tinjauan_pusat"),
        ("penerimaan", ["petugas_lapangan"], "ambil", {}, "pengerjaan"),
        ("pengerjaan", ["petugas_lapangan"], "selesai", {"jawaban": "sudah diperbaiki"}, "selesai"),
        ("verifikasi", ["pelapor"], "terima", {}, None),
    ]

    def ask(i: int) -> bool:
        step, roles, action, fields, expected = questions[i % len(questions)]
        return evaluator.decide(upik, step, roles, action, fields).to == expected

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(ask, range(4000)))
    assert all(results)
    assert evaluator.session_is_clean(upik)


def test_refusal_reasons_read_like_a_clerk_would_say_them(
    upik: CompiledSop, evaluator: Evaluator
) -> None:
    wrong_role = evaluator.decide(upik, "verifikasi", ["petugas_lapangan"], "terima")
    assert wrong_role.message == (
        "Tindakan 'Terima aduan' pada tahap ini hanya dapat dilakukan oleh Admin Perangkat Daerah."
    )
    assert "only be taken by Admin Perangkat Daerah" in wrong_role.message_en
    missing = evaluator.decide(upik, "verifikasi", ["admin_opd"], "tolak")
    assert missing.message == "Isian wajib belum diisi: Alasan."
    assert missing.missing == ("alasan",)
    not_here = evaluator.decide(upik, "penerimaan", ["petugas_lapangan"], "tolak")
    assert not_here.reason == "not_at_step"
    ended = evaluator.decide(upik, "selesai", ["petugas_lapangan"], "selesai")
    assert ended.reason == "step_ended"
    obsolete = evaluator.decide(upik, "langkah_lama", ["admin_opd"], "terima")
    assert obsolete.reason == "unknown_step"
    assert "upik-pengaduan" in obsolete.message


def test_invalid_field_values_are_refused_before_the_engine(
    upik: CompiledSop, evaluator: Evaluator
) -> None:
    d = evaluator.decide(upik, "verifikasi", ["admin_opd"], "terima", {"kategori": "tidak-ada"})
    assert d.reason == "invalid_field"
    assert "kategori" in d.message and "kebersihan" in d.message


def test_form_text_is_typed_as_declared(catalog: Catalog) -> None:
    sop = catalog.latest()[UPIK].sop
    assert normalise_fields(sop, {"kategori": " kebersihan ", "alasan": "  ", "asing": "x"}) == {
        "kategori": "kebersihan"
    }


def test_registering_twice_reuses_the_ruleset(catalog: Catalog, evaluator: Evaluator) -> None:
    loaded = catalog.latest()[UPIK]
    assert evaluator.register(loaded) is evaluator.register(loaded)
