"""The JSON API's one error format, and the handlers that turn every failure into it.

Every 4xx and 5xx of ``/api/v1`` is an :class:`ApiError`: a stable machine ``code``, a message
in Bahasa Indonesia and in English, and, for bad input, one detail per problem naming the field.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from msgspec import Struct

from sop_platform.cases import (
    Conflict,
    EngineError,
    IdempotencyMismatch,
    InvalidSubmission,
    NotFound,
    Refused,
)

log = logging.getLogger("web.api")


class ErrorDetail(Struct, kw_only=True):
    """One problem with the input: where (a field or parameter, when known) and what."""

    message: str
    field: str | None = None


class ApiError(Struct, kw_only=True):
    """The body of every error answer of the API."""

    code: str
    message: str
    message_en: str
    details: list[ErrorDetail] = []


# (code, message, message_en) by HTTP status, for errors that carry nothing more specific.
STATUS_TEXT: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "Permintaan tidak valid.", "The request is not valid."),
    401: (
        "unauthorized",
        "Perlu kunci API (X-API-Key) atau sesi masuk yang sah.",
        "A valid API key (X-API-Key) or a signed-in session is needed.",
    ),
    403: ("forbidden", "Tidak diizinkan.", "Not allowed."),
    404: ("not_found", "Tidak ditemukan.", "Not found."),
    405: ("method_not_allowed", "Metode tidak didukung.", "Method not allowed."),
    409: ("conflict", "Bertentangan dengan keadaan saat ini.", "Conflicts with the current state."),
    413: (
        "too_large",
        "Isi permintaan terlalu besar.",
        "The request body is too large.",
    ),
    415: ("unsupported_media_type", "Jenis isi tidak didukung.", "Unsupported media type."),
    422: ("unprocessable", "Tidak dapat diproses.", "Cannot be processed."),
    429: (
        "rate_limited",
        "Terlalu banyak permintaan; coba lagi nanti.",
        "Too many requests; try again later.",
    ),
    500: ("server_error", "Terjadi kesalahan pada server.", "Something went wrong on the server."),
}


class ApiProblem(HTTPException):
    """An error the API raises on purpose, already in its own words."""

    def __init__(
        self,
        status: int,
        code: str | None = None,
        message: str | None = None,
        message_en: str | None = None,
        details: Sequence[ErrorDetail] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        default = STATUS_TEXT.get(status, STATUS_TEXT[500 if status >= 500 else 400])
        self.code = code or default[0]
        self.message = message or default[1]
        self.message_en = message_en or message or default[2]
        self.details = list(details)
        super().__init__(status_code=status, detail=self.message_en, headers=headers)


def bad_input(field: str | None, message: str) -> ApiProblem:
    return ApiProblem(400, details=[ErrorDetail(message=message, field=field)])


def error_response(
    status: int,
    code: str,
    message: str,
    message_en: str,
    details: Sequence[ErrorDetail] = (),
    headers: dict[str, str] | None = None,
) -> Response[ApiError]:
    body = ApiError(code=code, message=message, message_en=message_en, details=list(details))
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)


def _validation_details(extra: Any) -> list[ErrorDetail]:
    out: list[ErrorDetail] = []
    if isinstance(extra, list):
        for item in extra:
            if isinstance(item, dict):
                out.append(ErrorDetail(message=str(item.get("message", "")), field=item.get("key")))
            else:
                out.append(ErrorDetail(message=str(item)))
    elif extra:
        out.append(ErrorDetail(message=str(extra)))
    return out


ENGINE_STATUS: dict[type[EngineError], tuple[int, str]] = {
    NotFound: (404, "not_found"),
    Conflict: (409, "conflict"),
    IdempotencyMismatch: (409, "idempotency_mismatch"),
    InvalidSubmission: (422, "invalid_submission"),
    Refused: (422, "refused"),
}


def engine_error(err: EngineError) -> ApiProblem:
    """The engine's refusal in the API's format (its messages are already for people)."""
    status, code = next(
        (v for k, v in ENGINE_STATUS.items() if isinstance(err, k)), (422, err.code)
    )
    problems = err.details.get("problems")
    details = [ErrorDetail(message=str(p)) for p in problems] if isinstance(problems, list) else []
    return ApiProblem(status, code, err.message, err.message_en, details)


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ApiError]:
    """Every HTTP error of the API (ours and Litestar's own) in the API's format."""
    headers = dict(exc.headers or {})
    if isinstance(exc, ApiProblem):
        return error_response(
            exc.status_code, exc.code, exc.message, exc.message_en, exc.details, headers
        )
    status = exc.status_code
    if status >= 500:
        log.error("HTTP %s on %s %s", status, request.method, request.url.path, exc_info=exc)
    code, message, message_en = STATUS_TEXT.get(status, STATUS_TEXT[500 if status >= 500 else 400])
    details: list[ErrorDetail] = []
    if isinstance(exc, ValidationException) or status == 400:
        details = _validation_details(exc.extra)
        if not details and exc.detail and exc.detail != "Bad Request":
            details = [ErrorDetail(message=exc.detail)]
    return error_response(status, code, message, message_en, details, headers)


def handle_engine(request: Request[Any, Any, Any], exc: EngineError) -> Response[ApiError]:
    return handle_http(request, engine_error(exc))


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[ApiError]:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    code, message, message_en = STATUS_TEXT[500]
    return error_response(500, code, message, message_en)


# Every class the app registers a handler for, too: the most specific class wins across layers,
# and the app's would answer with a page or a redirect to sign-in.
EXCEPTION_HANDLERS: dict[int | type[Exception], Any] = {
    NotAuthorizedException: handle_http,
    HTTPException: handle_http,
    EngineError: handle_engine,
    Exception: handle_unexpected,
}


_WHEN = {
    400: "Bad input: unknown fields, wrong types, values too long, malformed body or dates",
    401: "No valid API key or session (a wrong or revoked key included)",
    403: "A session call without its CSRF token",
    404: "Unknown id, or one the caller may not see (another region's included)",
    409: "Someone acted first (revision), or an idempotency key reused with another body",
    413: "The request body is too large",
    422: "The engine refused: the action or submission is not possible, with its reason",
    429: "Too many calls without a key; wait for Retry-After seconds",
}


def responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The error answers of an operation, for the OpenAPI document."""
    return {
        status: ResponseSpec(
            data_container=ApiError, description=_WHEN[status], generate_examples=False
        )
        for status in statuses
    }


def status_response(status: int) -> Response[ApiError]:
    """An error raised before any API route was found (an unknown path, a wrong method)."""
    code, message, message_en = STATUS_TEXT.get(status, STATUS_TEXT[500 if status >= 500 else 400])
    return error_response(status, code, message, message_en)
