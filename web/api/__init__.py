"""The JSON API under ``/api/v1``, described by the OpenAPI document at
``/api/v1/openapi.json``.

Authentication: an API key in the ``X-API-Key`` header (``sop apikey create``), or the staff
session cookie of the web pages (then unsafe calls carry the ``x-csrftoken`` header). Every error
is an :class:`~web.api.errors.ApiError`. Bodies are capped (``ApiSettings.max_body``).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Tag

from web.api import cases, reports
from web.api.access import KEY_HEADER, ApiSettings, provide_caller, provide_optional_caller
from web.api.errors import EXCEPTION_HANDLERS, ApiProblem, ErrorDetail, status_response
from web.api.schemas import INPUTS

PREFIX = "/api/v1"

__all__ = ["PREFIX", "ApiSettings", "openapi_config", "router", "status_response"]


async def _one_value_each(request: Request[Any, Any, Any]) -> None:
    """Every query parameter of the API takes one value: a repeated one is a 400, not a guess
    at which of them was meant."""
    repeated = sorted(
        {
            k
            for k, v in request.query_params.multi_items()
            if len(request.query_params.getall(k)) > 1
        }
    )
    if repeated:
        raise ApiProblem(
            400,
            details=[ErrorDetail(field=name, message="given more than once") for name in repeated],
        )


def router(max_body: int) -> Router:
    return Router(
        path=PREFIX,
        route_handlers=[*cases.ROUTES, *reports.ROUTES],
        dependencies={
            "caller": Provide(provide_caller),
            "optional_caller": Provide(provide_optional_caller),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        include_in_schema=True,
        request_max_body_size=max_body,
        before_request=_one_value_each,
    )


def _tightened(node: Any) -> Any:
    """``oneOf`` as ``anyOf``: Litestar writes unions (``str | int | float``, ``X | None``) as
    ``oneOf``, which an integer — also a number — would fail."""
    if isinstance(node, dict):
        return {("anyOf" if k == "oneOf" else k): _tightened(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_tightened(v) for v in node]
    return node


RETRY_AFTER = {
    "description": "Seconds until the window ends and calls are counted afresh.",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}


class ApiDocument(JsonRenderPlugin):
    """The OpenAPI document as JSON, saying what the inputs enforce: no unknown fields."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        document = _tightened(openapi_schema)
        schemas = document.get("components", {}).get("schemas", {})
        for name in INPUTS:
            if name in schemas:
                schemas[name]["additionalProperties"] = False
        for item in document.get("paths", {}).values():
            for operation in item.values():
                limited = operation.get("responses", {}).get("429")
                if isinstance(limited, dict):
                    limited["headers"] = {"Retry-After": RETRY_AFTER}
        return self.render_json(request, document)


def openapi_config(session_cookie: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="SOP platform API",
        version="1.0.0",
        description=(
            "Submit, read, list and act on cases of the region's SOPs; read the catalog; track "
            "a report by its number. Errors are always an ApiError. Citizen SOPs take reports "
            "without a key (rate limited per address; 429 with Retry-After)."
        ),
        # Mounted on the document's own path: a router at PREFIX would answer every unknown
        # /api/v1/... path with Litestar's HTML "schema not found" page.
        path=PREFIX + "/openapi.json",
        render_plugins=[ApiDocument(path="/")],
        components=Components(
            security_schemes={
                "apiKey": SecurityScheme(
                    type="apiKey",
                    name=KEY_HEADER,
                    security_scheme_in="header",
                    description="A key from `sop apikey create`: one region, some of its roles.",
                ),
                "session": SecurityScheme(
                    type="apiKey",
                    name=session_cookie,
                    security_scheme_in="cookie",
                    description="The web pages' staff session; unsafe calls also send the "
                    "x-csrftoken header.",
                ),
            }
        ),
        tags=[
            Tag(name="catalog", description="Regions, units and SOPs"),
            Tag(name="cases", description="Cases: submit, read, list, act"),
            Tag(name="tracking", description="Public tracking by tracking number"),
            Tag(name="reports", description="SOP conformance reports"),
        ],
    )
