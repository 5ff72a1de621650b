"""Schemathesis against the served OpenAPI document, on SQLite and PostgreSQL: every operation,
valid and invalid input, with a key, must answer as documented (status, content type, schema)
and never with a 5xx. Bounded and seeded, so CI runs the same examples in well under a minute.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from litestar import Litestar
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from tests.api.conftest import Keys, report

EXAMPLES = 30  # per operation and mode
NO_INPUT = {"GET /api/v1/regions"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    response_headers_conformance,
    missing_required_header,
    unsupported_method,
    ignored_auth,
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_answers_as_its_openapi_document_says(
    make_app: Callable[..., Litestar], keys: Keys, mode: GenerationMode
) -> None:
    from litestar.testing import TestClient

    app = make_app()
    with TestClient(app) as client:
        report(client)  # one case to read, act on and track
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11
    seen: list[str] = []

    for operation in operations:
        strategy = operation.as_strategy(generation_mode=mode)

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy, which=st.sampled_from(["pusat", "dinkes", "app"]))
        def run(case: Any, which: str) -> None:
            headers = {"X-API-Key": getattr(keys, which)}
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            # Nothing to make invalid: the operation takes no parameters and no body.
            assert mode is GenerationMode.NEGATIVE, operation.label
            assert operation.label in NO_INPUT, operation.label
            continue
        seen.append(operation.label)
    assert "POST /api/v1/cases" in seen and "POST /api/v1/cases/{case_id}/actions" in seen
