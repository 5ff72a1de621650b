"""Open311 GeoReport v2 on SQLite and PostgreSQL, driven as a client written from the
specification would: discover, list services, read a definition, POST a request with an api_key,
resolve the token, read the request back with its status — in JSON and in XML. Errors are the
specification's list of {code, description}; bad input writes nothing."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine

from sop_platform.apikeys import authenticate
from sop_platform.engine import CaseEngine
from sop_platform.timekeeping import VirtualClock
from tests.api.conftest import UPIK, KeyMaker, Keys, counts, report
from web.api.limits import Limit

V2 = "/open311/v2"


def _xml_items(text: str, root: str) -> list[dict[str, Any]]:
    """A list document (services, service_requests, errors) as dicts of its children's text."""
    top = ET.fromstring(text)
    assert top.tag == root
    return [{child.tag: child.text for child in item} for item in top]


class Client:
    """What a client needs from the specification alone: a base URL and a format."""

    def __init__(self, http: TestClient[Litestar], fmt: str) -> None:
        self.http = http
        self.fmt = fmt

    def _read(self, response: Any, root: str) -> Any:
        if self.fmt == "json":
            assert response.headers["content-type"].startswith("application/json")
            return response.json()
        assert response.headers["content-type"].startswith("text/xml")
        assert response.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
        if root in ("discovery", "service_definition"):
            return ET.fromstring(response.text)
        return _xml_items(response.text, root)

    def get(self, resource: str, root: str, **params: str) -> tuple[int, Any]:
        response = self.http.get(f"{V2}/{resource}.{self.fmt}", params=params)
        return response.status_code, self._read(response, root)

    def post(self, data: dict[str, str]) -> tuple[int, Any]:
        response = self.http.post(f"{V2}/requests.{self.fmt}", data=data)
        return response.status_code, self._read(response, "service_requests")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_client_discovers_submits_with_a_token_and_reads_the_request_back(
    client: TestClient[Litestar],
    keys: Keys,
    fmt: str,
    cases: CaseEngine,
    db_engine: Engine,
    clock: VirtualClock,
) -> None:
    c = Client(client, fmt)
    status, found = c.get("discovery", "discovery")
    assert status == 200
    if fmt == "json":
        endpoint = found["endpoints"][0]
        assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert endpoint["url"].endswith("/open311/v2/") and "text/xml" in endpoint["formats"]
    else:
        endpoint = found.find("endpoints/endpoint")
        assert endpoint is not None
        assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
        assert [f.text for f in endpoint.iterfind("formats/format")] == [
            "text/xml",
            "application/json",
        ]

    status, services = c.get("services", "services", jurisdiction_id="yogyakarta")
    assert status == 200
    codes = {s["service_code"] for s in services}
    assert UPIK in codes and "jss-pengaduan" in codes
    assert "lapor" not in codes  # another jurisdiction
    upik = next(s for s in services if s["service_code"] == UPIK)
    assert str(upik["metadata"]).lower() == "true" and upik["type"] == "realtime"

    status, definition = c.get(f"services/{UPIK}", "service_definition")
    assert status == 200
    if fmt == "json":
        attribute = definition["attributes"][0]
        values = [v["key"] for v in attribute["values"]]
        required = attribute["required"]
    else:
        node = definition.find("attributes/attribute")
        assert node is not None
        attribute = {child.tag: child.text for child in node}
        values = [v.findtext("key") for v in node.iterfind("values/value")]
        required = attribute["required"] == "true"
    assert attribute["code"] == "kategori" and attribute["datatype"] == "singlevaluelist"
    assert required and "kebersihan" in values

    status, posted = c.post(
        {
            "api_key": keys.app,
            "jurisdiction_id": "yogyakarta",
            "service_code": UPIK,
            "lat": "-7.7925",
            "long": "110.3658",
            "address_string": "Jl. Malioboro, depan pasar",
            "description": "Tumpukan sampah di trotoar",
            "first_name": "Sari",
            "email": "sari@example.org",
            "media_url": "https://foto.example.org/sampah.jpg",
            "attribute[kategori]": "kebersihan",
        }
    )
    assert status == 200, posted
    token = posted[0]["token"]
    number = posted[0]["service_request_id"]
    assert token and number

    status, resolved = c.get(f"tokens/{token}", "service_requests")
    assert status == 200 and resolved[0]["service_request_id"] == number

    status, read = c.get(f"requests/{number}", "service_requests")
    assert status == 200
    request = read[0]
    assert request["service_request_id"] == number and request["status"] == "open"
    assert request["service_code"] == UPIK
    assert request["agency_responsible"] == "Dinas Lingkungan Hidup"  # kebersihan → dlh
    assert request["status_notes"].startswith("Menerima aduan")
    assert request["expected_datetime"] == "2025-11-24T11:00:00+07:00"  # 1 x 2 jam
    assert request["requested_datetime"] == "2025-11-24T09:00:00+07:00"
    assert float(request["lat"]) == -7.7925 and request["address"].startswith("Jl. Malioboro")
    assert request["media_url"] == "https://foto.example.org/sampah.jpg"
    assert not request.get("description")  # the report's text is not public

    # Staff reject it and Admin Pusat answers and closes it: the request reads closed.
    view = cases.find(number)
    dlh = authenticate(db_engine, keys.dlh, clock.now())
    pusat = authenticate(db_engine, keys.pusat, clock.now())
    assert dlh is not None and pusat is not None
    clock.advance(timedelta(minutes=30))
    cases.act(view.id, dlh.actor, "tolak", {"alasan": "Bukan kewenangan DLH"})
    closing = [o.action for o in cases.available_actions(view.id, pusat.actor)]
    assert "jawab_dan_tutup" in closing, closing
    cases.act(view.id, pusat.actor, "jawab_dan_tutup", {"jawaban": "Diteruskan ke kelurahan"})
    status, read = c.get(f"requests/{number}", "service_requests")
    assert read[0]["status"] == "closed" and not read[0]["expected_datetime"]
    updated = datetime.fromisoformat(read[0]["updated_datetime"])
    assert updated == clock.now()

    status, listed = c.get("requests", "service_requests", status="closed")
    assert [r["service_request_id"] for r in listed] == [number]


def _errors(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    fmt = "json" if response.request.url.path.endswith(".json") else "xml"
    if fmt == "json":
        body = response.json()
        assert isinstance(body, list) and set(body[0]) == {"code", "description"}
        assert body[0]["code"] == status
        return str(body[0]["description"])
    items = _xml_items(response.text, "errors")
    assert items[0]["code"] == str(status)
    return str(items[0]["description"])


def _form(keys: Keys, **changes: str | None) -> dict[str, str]:
    data: dict[str, str | None] = {
        "api_key": keys.app,
        "service_code": UPIK,
        "lat": "-7.8",
        "long": "110.36",
        "description": "Jalan berlubang",
        "attribute[kategori]": "infrastruktur",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


BAD_POSTS: list[tuple[str, dict[str, str | None], int, str]] = [
    ("no api_key", {"api_key": None}, 403, "api_key"),
    ("wrong api_key", {"api_key": "sop_00000000_" + "A" * 43}, 403, "api_key"),
    ("revoked api_key", {"api_key": "revoked"}, 403, "api_key"),
    ("another region's key", {"api_key": "jambi"}, 403, "jurisdiction"),
    ("no service_code", {"service_code": None}, 400, "service_code"),
    ("unknown service", {"service_code": "tidak-ada"}, 404, "service_code"),
    ("staff-only SOP", {"service_code": "helpdesk-siaga-112"}, 404, "service_code"),
    ("unknown jurisdiction", {"jurisdiction_id": "atlantis"}, 404, "jurisdiction_id"),
    ("no location", {"lat": None, "long": None}, 400, "location"),
    ("lat without long", {"long": None}, 400, "lat and long"),
    ("lat not a number", {"lat": "utara"}, 400, "lat"),
    ("lat out of range", {"lat": "-91"}, 400, "lat"),
    ("long not finite", {"long": "nan"}, 400, "long"),
    ("no description", {"description": None}, 400, "description"),
    ("oversized description", {"description": "x" * 20_001}, 400, "description"),
    ("unknown field", {"prioritas": "tinggi"}, 400, "prioritas"),
    ("unknown attribute", {"attribute[warna]": "merah"}, 400, "warna"),
    ("value not an option", {"attribute[kategori]": "cuaca"}, 400, "kategori"),
    ("missing required attribute", {"attribute[kategori]": None}, 400, "Kategori"),
    ("media_url not http", {"media_url": "file:///etc/passwd"}, 400, "media_url"),
]


@pytest.mark.parametrize(
    ("changes", "status", "mentions"),
    [pytest.param(c, s, m, id=name) for name, c, s, m in BAD_POSTS],
)
def test_bad_posts_get_the_specifications_errors_and_write_nothing(
    client: TestClient[Litestar],
    keys: Keys,
    db_engine: Engine,
    changes: dict[str, str | None],
    status: int,
    mentions: str,
) -> None:
    named = {
        k: (getattr(keys, v) if k == "api_key" and v in ("revoked", "jambi") else v)
        for k, v in changes.items()
    }
    before = counts(db_engine)
    for fmt in ("json", "xml"):
        response = client.post(f"{V2}/requests.{fmt}", data=_form(keys, **named))
        assert mentions in _errors(response, status)
    assert counts(db_engine) == before


def test_malformed_bodies_unknown_formats_and_ids(
    client: TestClient[Litestar], keys: Keys, db_engine: Engine
) -> None:
    before = counts(db_engine)
    repeated = client.post(
        f"{V2}/requests.json",
        content=b"service_code=a&service_code=b&api_key=" + keys.app.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert "more than once" in _errors(repeated, 400)
    too_big = client.post(
        f"{V2}/requests.xml",
        content=b"description=" + b"x" * 70_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    _errors(too_big, 413)
    upload = client.post(
        f"{V2}/requests.json",
        data=_form(keys),
        files={"media": ("foto.jpg", b"\xff\xd8\xff" + b"0" * 100, "image/jpeg")},
    )
    assert "media_url" in _errors(upload, 400)
    assert counts(db_engine) == before
    assert "format" in _errors(client.get(f"{V2}/services.csv"), 404)
    _errors(client.get(f"{V2}/requests/YOG-000000-XXXXXX.json"), 404)
    _errors(client.get(f"{V2}/requests/bukan nomor.xml"), 404)
    _errors(client.get(f"{V2}/tokens/tidak-ada.json"), 404)
    _errors(client.get(f"{V2}/services/tidak-ada.xml"), 404)
    _errors(client.get(f"{V2}/services.json", params={"jurisdiction_id": "atlantis"}), 404)
    _errors(client.get(f"{V2}/nothing-here.json"), 404)
    _errors(client.get(f"{V2}/a/b/c.xml"), 404)


def test_request_filters(client: TestClient[Litestar], keys: Keys, clock: VirtualClock) -> None:
    first = report(client, "kesehatan")
    clock.advance(timedelta(days=2))
    second = report(client, "kebersihan")
    other = client.post(
        "/api/v1/cases",
        json={"sop": "jss-pengaduan", "text": "Jam buka?", "fields": {"jenis": "pertanyaan"}},
    )
    assert other.status_code == 201, other.text
    got = lambda **p: client.get(f"{V2}/requests.json", params=p)  # noqa: E731
    ids = lambda r: [x["service_request_id"] for x in r.json()]  # noqa: E731
    both = got(service_code=UPIK)
    assert ids(both) == [second["tracking_number"], first["tracking_number"]]
    by_id = got(service_request_id=f"{first['tracking_number']}, {second['tracking_number']}")
    assert sorted(ids(by_id)) == sorted([first["tracking_number"], second["tracking_number"]])
    assert ids(got(service_code=UPIK, start_date="2025-11-25T00:00:00+07:00")) == [
        second["tracking_number"]
    ]
    assert ids(got(service_code=UPIK, end_date="2025-11-25T00:00:00Z")) == [
        first["tracking_number"]
    ]
    assert ids(got(service_code=UPIK, status="closed")) == []
    assert len(ids(got(service_code=UPIK, status="open,closed"))) == 2
    everything = ids(got())
    assert other.json()["tracking_number"] in everything and len(everything) == 3
    for params, status in (
        ({"start_date": "kemarin"}, 400),
        ({"start_date": "2025-11-24T09:00:00"}, 400),
        ({"start_date": "2025-11-25T00:00:00Z", "end_date": "2025-11-24T00:00:00Z"}, 400),
        ({"status": "lost"}, 400),
        ({"service_code": "tidak-ada"}, 404),
        ({"service_request_id": "'; DROP TABLE case; --"}, 400),
        ({"jurisdiction_id": "atlantis"}, 404),
    ):
        _errors(got(**params), status)
    # The specification's default window: the last 90 days.
    clock.advance(timedelta(days=91))
    assert ids(got(service_code=UPIK)) == []


def test_confidential_reports_are_not_public(client: TestClient[Litestar], keys: Keys) -> None:
    shown = report(client, "kesehatan")
    secret = report(
        client,
        "kesehatan",
        confidential=True,
        location={"lat": -7.8, "long": 110.36, "address": "Rumah pelapor"},
    )
    listed = client.get(f"{V2}/requests.json").json()
    assert [r["service_request_id"] for r in listed] == [shown["tracking_number"]]
    _errors(client.get(f"{V2}/requests/{secret['tracking_number']}.json"), 404)
    by_id = client.get(
        f"{V2}/requests.xml", params={"service_request_id": secret["tracking_number"]}
    )
    assert _xml_items(by_id.text, "service_requests") == []


def test_reading_without_a_key_is_rate_limited(
    make_app: Callable[..., Litestar], keys: Keys
) -> None:
    with TestClient(make_app(api_limits={"track": Limit(2, 60)})) as client:
        for _ in range(2):
            assert client.get(f"{V2}/requests.json").status_code == 200
        limited = client.get(f"{V2}/requests.xml")
        assert "retry" in _errors(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1
        assert client.get(f"{V2}/services.json").status_code == 200  # the catalog is not limited


def test_retention_forgets_where_a_request_came_from(
    client: TestClient[Litestar],
    keys: Keys,
    cases: CaseEngine,
    registry: Any,
    catalog: Any,
    db_engine: Engine,
    clock: VirtualClock,
    make_key: KeyMaker,
) -> None:
    from sop_platform import service_requests
    from sop_platform.retention import RetentionJob

    posted = client.post(
        f"{V2}/requests.json",
        data=_form(keys, address_string="Rumah pelapor", device_id="hp-123", account_id="u-9"),
    ).json()[0]
    view = cases.find(posted["service_request_id"])  # infrastruktur: routed to dpupkp
    dpupkp_key = make_key("DPUPKP", "yogyakarta", ["admin_opd"], "dpupkp")
    dpupkp = authenticate(db_engine, dpupkp_key, clock.now())
    pusat = authenticate(db_engine, keys.pusat, clock.now())
    assert dpupkp is not None and pusat is not None
    cases.act(view.id, dpupkp.actor, "tolak", {"alasan": "Bukan kewenangan"})
    cases.act(view.id, pusat.actor, "jawab_dan_tutup", {"jawaban": "Sudah diteruskan"})
    before = service_requests.find([view.id], db_engine)[view.id]
    assert before.arrival.device_id == "hp-123" and before.arrival.lat == -7.8
    clock.advance(timedelta(days=2 * 366 + 1))
    erased = RetentionJob(db_engine, registry, clock).run()
    assert [e.case_id for e in erased.erased] == [view.id]
    after = service_requests.find([view.id], db_engine)[view.id]
    assert after.token == before.token
    assert after.arrival == service_requests.Arrival(api_key_id=before.arrival.api_key_id)
    shown = client.get(f"{V2}/tokens/{after.token}.json").json()[0]
    request = client.get(f"{V2}/requests/{shown['service_request_id']}.json").json()[0]
    assert request["status"] == "closed" and request["lat"] is None and request["address"] is None
