"""The JSON API on SQLite and PostgreSQL: the web pages' permission rules, the engine's offers and
refusals, idempotent submission, cursor pages, public tracking, bad input answered with a 4xx in
the API's format and nothing written, and rate limits with Retry-After."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine

from sop_platform.engine import CaseEngine
from tests.api.conftest import PASSWORD, UPIK, KeyMaker, Keys, counts, report
from tests.web.support import csrf, sign_in
from web.api.limits import Limit
from web.app import CSRF_HEADER


def _is_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "message_en", "details"}
    assert body["message"] and body["message_en"]
    if code is not None:
        assert body["code"] == code, body
    return body


# --- the document ------------------------------------------------------------------------------


def test_the_openapi_document_describes_the_api_only_with_errors_and_auth(
    client: TestClient[Litestar],
) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    paths = doc["paths"]
    assert set(paths) == {
        "/api/v1/regions",
        "/api/v1/regions/{region_id}/units",
        "/api/v1/sops",
        "/api/v1/sops/{sop_id}",
        "/api/v1/cases",
        "/api/v1/cases/{case_id}",
        "/api/v1/cases/{case_id}/history",
        "/api/v1/cases/{case_id}/actions",
        "/api/v1/track/{tracking_number}",
        "/api/v1/reports/conformance",
    }  # no HTML page and no Open311 route
    schemes = doc["components"]["securitySchemes"]
    assert schemes["apiKey"] == {**schemes["apiKey"], "in": "header", "name": "X-API-Key"}
    assert schemes["session"]["in"] == "cookie"
    post = paths["/api/v1/cases"]["post"]
    assert post["security"] == [{"apiKey": []}, {"session": []}, {}]
    assert paths["/api/v1/cases"]["get"]["security"] == [{"apiKey": []}, {"session": []}]
    for status in ("400", "404", "409", "413", "422", "429"):
        ref = post["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/ApiError"
    assert {p["name"] for p in post["parameters"]} == {"Idempotency-Key"}
    assert post["responses"]["429"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    schemas = doc["components"]["schemas"]
    for name in ("SubmissionIn", "ActionIn", "ReporterIn", "LocationIn"):
        assert schemas[name]["additionalProperties"] is False
    assert schemas["SubmissionIn"]["properties"]["text"]["maxLength"] == 20_000


# --- the catalog -------------------------------------------------------------------------------


def test_the_catalog_lists_regions_units_and_sops(client: TestClient[Litestar]) -> None:
    regions = client.get("/api/v1/regions").json()
    assert {r["id"] for r in regions} == {"yogyakarta", "jambi", "bantul", "cirebon"}
    units = client.get("/api/v1/regions/yogyakarta/units").json()
    assert {"key": "dinkes", "code": "DINKES", "name": "Dinas Kesehatan"} in units
    sops = client.get("/api/v1/sops", params={"region": "yogyakarta"}).json()
    assert {s["id"] for s in sops} >= {UPIK, "jss-pengaduan"}
    assert all(s["region"] == "yogyakarta" for s in sops)
    upik = client.get(f"/api/v1/sops/{UPIK}").json()
    kategori = next(f for f in upik["fields"] if f["name"] == "kategori")
    assert kategori["at_submission"] and kategori["required"] and "kesehatan" in kategori["options"]
    assert upik["citizen"] is True and upik["channels"] == ["jss"]
    cirebon = client.get("/api/v1/sops/helpdesk-siaga-112").json()
    assert cirebon["citizen"] is False and cirebon["submitted_by"] == "call_taker"
    _is_error(client.get("/api/v1/regions/atlantis/units"), 404, "unknown_region")
    _is_error(client.get("/api/v1/sops", params={"region": "atlantis"}), 404, "unknown_region")
    _is_error(client.get("/api/v1/sops/tidak-ada"), 404, "unknown_sop")


# --- submitting and reading --------------------------------------------------------------------


def test_a_report_without_a_key_is_read_only_by_staff_who_hold_a_role_at_it(
    client: TestClient[Litestar], keys: Keys
) -> None:
    receipt = report(client, "kesehatan")  # routed to dinkes
    assert receipt["status"] == "open" and receipt["step"] == "verifikasi"
    url = f"/api/v1/cases/{receipt['id']}"
    for allowed in ("dinkes", "pusat"):
        case = client.get(url, headers=keys.header(allowed)).json()
        assert case["tracking_number"] == receipt["tracking_number"]
        assert case["unit"] == "dinkes" and case["fields"] == {"kategori": "kesehatan"}
        assert case["reporter"]["name"] == "Budi Santoso"
        assert case["due_at"] is not None and case["revision"] == 1
    # Another unit's staff, another region's key, a key without roles: the 404 of a missing id.
    missing = _is_error(client.get("/api/v1/cases/999999", headers=keys.header("pusat")), 404)
    for denied in ("dlh", "jambi", "app"):
        for suffix in ("", "/history", "/actions"):
            body = _is_error(client.get(url + suffix, headers=keys.header(denied)), 404)
            assert body["code"] == missing["code"]
    _is_error(client.get(url), 401, "unauthorized")
    _is_error(
        client.get(url, headers={"X-API-Key": "sop_00000000_" + "A" * 43}), 401, "bad_api_key"
    )
    _is_error(client.get(url, headers=keys.header("revoked")), 401, "bad_api_key")


def test_history_lists_events_and_visits(client: TestClient[Litestar], keys: Keys) -> None:
    receipt = report(client, "kesehatan")
    url = f"/api/v1/cases/{receipt['id']}"
    case = client.get(url, headers=keys.header("dinkes")).json()
    moved = client.post(
        url + "/actions",
        json={"action": "terima", "revision": case["revision"]},
        headers=keys.header("dinkes"),
    )
    assert moved.status_code == 200, moved.text
    history = client.get(url + "/history", headers=keys.header("dinkes")).json()
    assert [e["kind"] for e in history["events"]][:1] == ["submit"]
    assert history["events"][-1]["action"] == "terima"
    assert history["events"][-1]["actor"].startswith("API: Dinkes")
    assert [v["step"] for v in history["visits"]] == ["verifikasi", "penerimaan"]
    assert history["visits"][0]["outcome"] == "met" and history["visits"][1]["left_at"] is None


def test_the_reporter_is_shown_as_the_personal_data_rules_say(
    client: TestClient[Litestar], keys: Keys
) -> None:
    secret = report(client, "kesehatan", confidential=True)
    url = f"/api/v1/cases/{secret['id']}"
    # Confidential: only the role responsible for the current step (admin_opd at verification).
    assert (
        client.get(url, headers=keys.header("dinkes")).json()["reporter"]["name"] == "Budi Santoso"
    )
    assert client.get(url, headers=keys.header("pusat")).json()["reporter"] is None
    anon = report(client, "kesehatan", reporter=None, anonymous=True, text="Tanpa nama")
    case = client.get(f"/api/v1/cases/{anon['id']}", headers=keys.header("dinkes")).json()
    assert case["anonymous"] is True and case["reporter"] is None
    # A confidential report is not public: tracking answers as for an unknown number.
    _is_error(client.get(f"/api/v1/track/{secret['tracking_number']}"), 404, "not_found")


def test_external_roles_never_see_the_reporter(
    client: TestClient[Litestar], make_key: KeyMaker
) -> None:
    bridge = make_key("SP4N-LAPOR!", "jambi", ["admin_nasional"])
    coordinator = make_key("Koordinator", "jambi", ["admin_koordinator"])
    sop = client.get("/api/v1/sops/lapor").json()
    fields = {f["name"]: (f["options"] or ["x"])[0] for f in sop["fields"] if f["required"]}
    body = {
        "sop": "lapor",
        "text": "Jalan provinsi rusak",
        "channel": "lapor_web",
        "fields": fields,
        "reporter": {"name": "Rina", "email": "rina@example.org"},
    }
    made = client.post("/api/v1/cases", json=body, headers={"X-API-Key": bridge})
    assert made.status_code == 201, made.text
    url = f"/api/v1/cases/{made.json()['id']}"
    seen = client.get(url, headers={"X-API-Key": bridge})
    assert seen.status_code == 200 and seen.json()["reporter"] is None
    staff = client.get(url, headers={"X-API-Key": coordinator}).json()
    assert staff["reporter"]["name"] == "Rina"


def test_location_and_media_url_are_kept_with_the_case(
    client: TestClient[Litestar], keys: Keys
) -> None:
    receipt = report(
        client,
        "infrastruktur",
        headers=keys.header("app"),
        location={"lat": -7.8014, "long": 110.3647, "address": "Jl. Malioboro 1"},
        media_url="https://foto.example.org/lubang.jpg",
    )
    case = client.get(f"/api/v1/cases/{receipt['id']}", headers=keys.header("pusat")).json()
    assert case["location"] == {
        "lat": -7.8014,
        "long": 110.3647,
        "address": "Jl. Malioboro 1",
        "address_id": None,
    }
    assert case["media_url"] == "https://foto.example.org/lubang.jpg"


def test_a_retry_with_the_same_idempotency_key_makes_one_case(
    client: TestClient[Litestar], keys: Keys, db_engine: Engine
) -> None:
    headers = {**keys.header("app"), "Idempotency-Key": "3f2b8c1e-aaaa-4bbb-8ccc-000000000001"}
    first = report(client, headers=headers)
    before = counts(db_engine)
    again = report(client, headers=headers)
    assert again["id"] == first["id"] and again["tracking_number"] == first["tracking_number"]
    assert counts(db_engine) == before
    body = _is_error(
        client.post(
            "/api/v1/cases",
            json={"sop": UPIK, "text": "Isi lain", "fields": {"kategori": "kesehatan"}},
            headers=headers,
        ),
        409,
        "idempotency_mismatch",
    )
    assert "idempotency" in body["message_en"].lower()
    assert counts(db_engine) == before
    # Another client's key with the same value is another namespace: a new case.
    other = report(client, headers={"Idempotency-Key": headers["Idempotency-Key"]})
    assert other["id"] != first["id"]


def test_an_sop_reported_by_staff_needs_a_key_with_that_role(
    client: TestClient[Litestar], keys: Keys, db_engine: Engine
) -> None:
    body = {
        "sop": "helpdesk-siaga-112",
        "text": "Aplikasi Cirebon Siaga 112 tidak bisa menerima panggilan",
        "channel": "telepon",
        "fields": {"aplikasi": "aplikasi_siaga_112"},
        "reporter": {"name": "Operator Satu", "phone": "0812000111"},
    }
    before = counts(db_engine)
    refused = _is_error(client.post("/api/v1/cases", json=body), 422, "invalid_submission")
    assert "call taker" in refused["message"].lower()
    _is_error(client.post("/api/v1/cases", json=body, headers=keys.header("pusat")), 404)
    assert counts(db_engine) == before
    made = client.post("/api/v1/cases", json=body, headers=keys.header("cirebon"))
    assert made.status_code == 201, made.text
    case = client.get(f"/api/v1/cases/{made.json()['id']}", headers=keys.header("cirebon"))
    assert case.status_code == 200 and case.json()["sop"] == "helpdesk-siaga-112"


def _submission(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sop": UPIK,
        "text": "Lampu jalan mati",
        "fields": {"kategori": "infrastruktur"},
        "reporter": {"name": "Sari"},
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


BAD_SUBMISSIONS = [
    ("unknown field", _submission(prioritas="tinggi"), 400, "prioritas"),
    ("wrong type", _submission(text=123), 400, "text"),
    ("wrong type inside", _submission(anonymous="ya"), 400, "anonymous"),
    ("empty text", _submission(text=""), 400, "text"),
    ("oversized text", _submission(text="x" * 20_001), 400, "text"),
    ("oversized field", _submission(fields={"kategori": "x" * 10_001}), 400, "fields"),
    (
        "unknown SOP field",
        _submission(fields={"kategori": "kebersihan", "warna": "merah"}),
        400,
        "warna",
    ),
    ("staff's field", _submission(fields={"kategori": "kebersihan", "alasan": "x"}), 400, "alasan"),
    ("unknown reporter field", _submission(reporter={"name": "A", "umur": 3}), 400, "umur"),
    (
        "unknown identity",
        _submission(reporter={"name": "A", "extra": {"akun_x": "1"}}),
        400,
        "akun_x",
    ),
    ("lat without long", _submission(location={"lat": -7.8}), 400, "location"),
    ("lat out of range", _submission(location={"lat": 91.0, "long": 1.0}), 400, "lat"),
    ("media_url not a URL", _submission(media_url="javascript:alert(1)"), 400, "media_url"),
    ("missing sop", _submission(sop=...), 400, "sop"),
    ("unknown SOP", _submission(sop="tidak-ada"), 404, None),
    ("choice not an option", _submission(fields={"kategori": "cuaca"}), 422, None),
    ("missing required field", _submission(fields={}), 422, None),
    (
        "anonymous not allowed",
        _submission(sop="jss-kedaruratan", anonymous=True, reporter=None, fields={}),
        422,
        None,
    ),
    ("unknown channel", _submission(channel="merpati"), 422, None),
]


@pytest.mark.parametrize(
    ("body", "status", "mentions"),
    [pytest.param(b, s, m, id=name) for name, b, s, m in BAD_SUBMISSIONS],
)
def test_bad_submissions_get_a_clear_4xx_and_write_nothing(
    client: TestClient[Litestar],
    db_engine: Engine,
    body: dict[str, Any],
    status: int,
    mentions: str | None,
) -> None:
    before = counts(db_engine)
    error = _is_error(client.post("/api/v1/cases", json=body), status)
    if mentions is not None:
        assert mentions in str(error["details"]), error
    if status == 422:
        assert error["code"] == "invalid_submission" and error["details"]
    assert counts(db_engine) == before


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'{"sop": "upik-pengaduan", "text": ', "application/json", 400),
        (b"\xff\xfe not json", "application/json", 400),
        (b"[1, 2, 3]", "application/json", 400),
        (b"null", "application/json", 400),
        (b'{"sop": "upik-pengaduan", "text": "' + b"x" * 300_000 + b'"}', "application/json", 413),
    ],
    ids=["truncated", "not utf-8", "an array", "null", "oversized body"],
)
def test_malformed_and_oversized_bodies_are_refused(
    client: TestClient[Litestar],
    db_engine: Engine,
    content: bytes,
    content_type: str,
    status: int,
) -> None:
    before = counts(db_engine)
    response = client.post("/api/v1/cases", content=content, headers={"content-type": content_type})
    _is_error(response, status)
    assert counts(db_engine) == before


def test_bad_query_parameters_are_400(client: TestClient[Litestar], keys: Keys) -> None:
    h = keys.header("pusat")
    for params in (
        {"created_from": "kemarin"},
        {"created_from": "2025-11-24T09:00:00"},  # no offset
        {"created_to": "1700000000"},
        {"status": "lost"},
        {"limit": "0"},
        {"limit": "101"},
        {"after": "abc"},
    ):
        _is_error(client.get("/api/v1/cases", params=params, headers=h), 400)
    repeated = client.get("/api/v1/cases?status=open&status=done", headers=h)
    assert "status" in str(_is_error(repeated, 400)["details"])
    _is_error(client.get("/api/v1/cases/0", headers=h), 400)
    _is_error(client.get("/api/v1/cases/abc", headers=h), 404)  # not a case path at all
    _is_error(client.get("/api/v1/tidak-ada", headers=h), 404)
    _is_error(client.delete("/api/v1/cases", headers=h), 405)


# --- listing -----------------------------------------------------------------------------------


def test_cases_are_listed_newest_first_in_pages_within_scope(
    client: TestClient[Litestar], keys: Keys, clock: Any
) -> None:
    made = []
    for kategori in ("kesehatan", "kebersihan", "kesehatan", "kesehatan", "kebersihan"):
        made.append(report(client, kategori)["id"])
        clock.advance(timedelta(minutes=10))
    h = keys.header("pusat")
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if after is not None:
            params["after"] = after
        page = client.get("/api/v1/cases", params=params, headers=h).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        after = page["next"]
        if after is None:
            break
    assert seen == sorted(made, reverse=True) and pages == 3
    dinkes = client.get("/api/v1/cases", headers=keys.header("dinkes")).json()["items"]
    assert sorted(i["id"] for i in dinkes) == [made[0], made[2], made[3]]
    assert client.get("/api/v1/cases", headers=keys.header("jambi")).json()["items"] == []
    unit = client.get("/api/v1/cases", params={"unit": "dlh"}, headers=h).json()["items"]
    assert sorted(i["id"] for i in unit) == [made[1], made[4]]
    window = client.get(
        "/api/v1/cases",
        params={"created_from": "2025-11-24T09:10:00+07:00", "created_to": "2025-11-24T02:30Z"},
        headers=h,
    ).json()["items"]
    assert [i["id"] for i in window] == [made[2], made[1]]
    closed = client.get("/api/v1/cases", params={"status": "done"}, headers=h).json()
    assert closed == {"items": [], "next": None}


# --- acting ------------------------------------------------------------------------------------


def test_actions_are_the_engines_offers_and_acting_moves_the_case(
    client: TestClient[Litestar], keys: Keys, cases: CaseEngine, db_engine: Engine
) -> None:
    receipt = report(client, "kesehatan")
    url = f"/api/v1/cases/{receipt['id']}"
    h = keys.header("dinkes")
    offered = client.get(url + "/actions", headers=h).json()
    from sop_platform.apikeys import authenticate

    actor = authenticate(db_engine, keys.dinkes, cases.clock.now())
    assert actor is not None
    engine_offers = cases.available_actions(receipt["id"], actor.actor)
    assert (
        [o["action"] for o in offered] == [o.action for o in engine_offers] == ["terima", "tolak"]
    )
    assert next(o for o in offered if o["action"] == "tolak")["requires"] == ["alasan"]
    assert client.get(url + "/actions", headers=keys.header("pusat")).json() == []

    before = counts(db_engine)
    refused = _is_error(client.post(url + "/actions", json={"action": "tolak"}, headers=h), 422)
    assert refused["code"] == "refused" and "Alasan" in refused["message"]
    extra = client.post(
        url + "/actions", json={"action": "terima", "entries": {"jawaban": "x"}}, headers=h
    )
    assert "jawaban" in _is_error(extra, 422, "refused")["message"]
    _is_error(client.post(url + "/actions", json={"action": "terbang"}, headers=h), 422)
    _is_error(client.post(url + "/actions", json={"action": "terima", "x": 1}, headers=h), 400)
    _is_error(
        client.post(url + "/actions", json={"action": "terima"}, headers=keys.header("dlh")), 404
    )
    stale = client.post(url + "/actions", json={"action": "terima", "revision": 7}, headers=h)
    _is_error(stale, 409, "conflict")
    assert counts(db_engine) == before

    moved = client.post(url + "/actions", json={"action": "terima", "revision": 1}, headers=h)
    assert moved.status_code == 200, moved.text
    assert moved.json()["step"] == "penerimaan" and moved.json()["revision"] == 2
    again = client.post(url + "/actions", json={"action": "terima", "revision": 1}, headers=h)
    _is_error(again, 409, "conflict")


def test_a_staff_session_works_with_its_csrf_token(
    client: TestClient[Litestar], keys: Keys, staff_user: str
) -> None:
    receipt = report(client, "kesehatan")
    assert sign_in(client, staff_user, PASSWORD).status_code == 303
    url = f"/api/v1/cases/{receipt['id']}"
    assert client.get(url).status_code == 200  # a read needs no token
    offered = client.get(url + "/actions").json()
    assert offered == []  # admin_pusat has nothing to do at verification
    listed = client.get("/api/v1/cases").json()["items"]
    assert [i["id"] for i in listed] == [receipt["id"]]
    body = {"sop": UPIK, "text": "Dari petugas", "fields": {"kategori": "lainnya"}}
    _is_error(client.post("/api/v1/cases", json=body), 403, "csrf")
    _is_error(client.post("/api/v1/cases", json=body, headers={CSRF_HEADER: "salah"}), 403)
    made = client.post("/api/v1/cases", json=body, headers={CSRF_HEADER: csrf(client)})
    assert made.status_code == 201, made.text


# --- tracking and limits -----------------------------------------------------------------------


def test_tracking_shows_status_and_public_history_only(client: TestClient[Litestar]) -> None:
    receipt = report(client, "kesehatan")
    tracked = client.get(f"/api/v1/track/{receipt['tracking_number'].lower()}")
    assert tracked.status_code == 200
    body = tracked.json()
    assert body["status"] == "open" and body["step"] == "verifikasi"
    assert body["events"][0]["title"]
    text = tracked.text
    assert "Budi" not in text and "budi@example.org" not in text and "selokan" not in text
    _is_error(client.get("/api/v1/track/YOG-000000-XXXXXX"), 404, "not_found")
    _is_error(client.get("/api/v1/track/" + "A" * 41), 400)


def test_calls_without_a_key_are_rate_limited_with_retry_after(
    make_app: Callable[..., Litestar], keys: Keys, db_engine: Engine
) -> None:
    app = make_app(api_limits={"submit": Limit(2, 60), "track": Limit(3, 60)})
    with TestClient(app) as client:
        first = report(client)
        report(client)
        before = counts(db_engine)
        limited = client.post("/api/v1/cases", json=_submission())
        _is_error(limited, 429, "rate_limited")
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert counts(db_engine) == before
        report(client, headers=keys.header("app"))  # a key is not limited
        number = first["tracking_number"]
        for _ in range(3):
            assert client.get(f"/api/v1/track/{number}").status_code == 200
        tracked = client.get(f"/api/v1/track/{number}")
        _is_error(tracked, 429, "rate_limited")
        assert int(tracked.headers["retry-after"]) >= 1


# --- the conformance report --------------------------------------------------------------------


def test_the_conformance_report_is_for_the_regions_compliance_officer(
    client: TestClient[Litestar], keys: Keys, make_key: KeyMaker
) -> None:
    officer = make_key("Inspektorat", "yogyakarta", ["kepatuhan"])
    receipt = report(client, "kesehatan")
    moved = client.post(
        f"/api/v1/cases/{receipt['id']}/actions",
        json={"action": "terima"},
        headers=keys.header("dinkes"),
    )
    assert moved.status_code == 200
    params = {"region": "yogyakarta", "sop": UPIK, "since": "2025-11-01", "until": "2025-11-30"}
    found = client.get("/api/v1/reports/conformance", params=params, headers={"X-API-Key": officer})
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["sop_id"] == UPIK and body["region"] == "yogyakarta"
    verifikasi = next(s for s in body["steps"] if s["step"] == "verifikasi")
    assert verifikasi["met"] == 1 and verifikasi["breached"] == 0
    # The officer reads; the officer's key acts on no case.
    assert (
        client.get(f"/api/v1/cases/{receipt['id']}", headers={"X-API-Key": officer}).status_code
        == 404
    )
    for other in ("pusat", "jambi"):
        denied = client.get(
            "/api/v1/reports/conformance", params=params, headers=keys.header(other)
        )
        _is_error(denied, 403, "forbidden")
    h = {"X-API-Key": officer}
    for changes, status in (
        ({"since": "1 November"}, 400),
        ({"since": "2025-12-01"}, 400),  # after until
        ({"sop": "tidak-ada"}, 400),
        ({"region": "atlantis"}, 404),
        ({"min_cases": "0"}, 400),
    ):
        _is_error(
            client.get("/api/v1/reports/conformance", params={**params, **changes}, headers=h),
            status,
        )
    _is_error(client.get("/api/v1/reports/conformance", params=params), 401)


def test_the_reporters_export_holds_what_came_through_the_api(
    client: TestClient[Litestar], keys: Keys, db_engine: Engine, registry: Any, clock: Any
) -> None:
    from sop_platform.personal_data import citizen_export

    located = report(
        client,
        "infrastruktur",
        headers=keys.header("app"),
        location={"lat": -7.8, "long": 110.36, "address": "Depan rumah no. 5"},
        media_url="https://foto.example.org/a.jpg",
    )
    plain = report(client, "kesehatan")
    export = citizen_export(db_engine, registry, located["id"], clock.now())
    assert export["sent_by_an_application"] == {
        "lat": -7.8,
        "long": 110.36,
        "address": "Depan rumah no. 5",
        "address_id": None,
        "media_url": "https://foto.example.org/a.jpg",
        "device_id": None,
        "account_id": None,
    }
    plain_export = citizen_export(db_engine, registry, plain["id"], clock.now())
    assert plain_export["sent_by_an_application"] is None


def test_the_list_holds_exactly_the_cases_the_caller_has_a_role_at(
    client: TestClient[Litestar],
    keys: Keys,
    db_engine: Engine,
    catalog: Any,
    clock: Any,
    cases: CaseEngine,
    make_key: KeyMaker,
) -> None:
    """The list's SQL scope is the case page's rule (``Actor.roles_for``), case by case."""
    from sop_platform import apikeys

    for kategori in ("kesehatan", "kebersihan", "infrastruktur", "lainnya"):
        report(client, kategori)
    for jenis in ("pengaduan", "saran"):
        made = client.post(
            "/api/v1/cases",
            json={"sop": "jss-pengaduan", "text": "Laporan", "fields": {"jenis": jenis}},
        )
        assert made.status_code == 201, made.text
    lapor = client.get("/api/v1/sops/lapor").json()
    fields = {f["name"]: (f["options"] or ["x"])[0] for f in lapor["fields"] if f["required"]}
    made = client.post(
        "/api/v1/cases",
        json={
            "sop": "lapor",
            "text": "Jalan rusak",
            "channel": "lapor_web",
            "fields": fields,
            "reporter": {"email": "rina@example.org"},
        },
    )
    assert made.status_code == 201, made.text
    lapor_unit = cases.get(made.json()["id"]).unit or next(iter(catalog.regions["jambi"].units))
    extra = {
        "nasional": make_key("n", "jambi", ["admin_nasional"]),
        "penghubung": make_key("p", "jambi", ["pejabat_penghubung"], lapor_unit),
    }
    every = [cases.get(i) for i in range(1, 100) if _exists(cases, i)]
    assert len(every) == 7
    callers = {name: getattr(keys, name) for name in ("pusat", "dinkes", "dlh", "app", "jambi")}
    callers.update(extra)
    seen: dict[str, int] = {}
    for name, key in callers.items():
        found = apikeys.authenticate(db_engine, key, clock.now())
        assert found is not None
        expected = sorted(
            (
                v.id
                for v in every
                if found.actor.roles_for(
                    v.region, v.unit, cases.registry.by_hash(v.content_hash).sop, v.id
                )
            ),
            reverse=True,
        )
        listed = client.get("/api/v1/cases", params={"limit": 100}, headers={"X-API-Key": key})
        assert [i["id"] for i in listed.json()["items"]] == expected, name
        seen[name] = len(expected)
        for v in every:
            status = client.get(f"/api/v1/cases/{v.id}", headers={"X-API-Key": key}).status_code
            assert status == (200 if v.id in expected else 404), (name, v.id)
    # Region staff see the region's cases, unit staff their unit's, a key without roles none.
    assert seen["pusat"] == 6 and seen["dinkes"] == 1 and seen["app"] == 0
    assert seen["jambi"] == seen["nasional"] == 1


def _exists(cases: CaseEngine, case_id: int) -> bool:
    from sop_platform.cases import NotFound

    try:
        cases.get(case_id)
    except NotFound:
        return False
    return True
