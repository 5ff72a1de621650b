"""The reporter's own data (UU 27/2022): everything held about them, as JSON, for the holder of
the case's secret tracking link. A wrong key gets the same 404 as a wrong number."""

from __future__ import annotations

import json
from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from litestar.params import FromPath

from sop_platform.personal_data import citizen_export
from web.citizen import _owned_case
from web.context import Web, blocking, web_of


def _export(web: Web, tracking: str, key: str) -> tuple[str, dict[str, Any]]:
    view = _owned_case(web, tracking, key)
    return view.tracking_number, citizen_export(web.engine, web.registry, view.id, web.clock.now())


@get("/lacak/{tracking:str}/{key:str}/data", name="track_data")
async def track_data(state: State, tracking: FromPath[str], key: FromPath[str]) -> Response[Any]:
    number, data = await blocking(_export, web_of(state), tracking, key)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="data-pribadi-{number}.json"',
            "Cache-Control": "no-store",
        },
    )


ROUTES = [track_data]
