"""Every endpoint, fuzzed from the app's own OpenAPI schema: no 5xx, every error is
``{"message": ...}``."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from tests.e2e.conftest import Server

EXAMPLES_PER_OPERATION = 30


def errors_are_json_messages(ctx: Any, response: schemathesis.Response, case: Any) -> bool:
    """``{"message"}``; on OpenAI's API (/v1), OpenAI's ``{"error": {"message", ...}}``."""
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict), body
        if case.path.startswith("/v1/"):
            error = body.get("error")
            assert isinstance(error, dict), body
            assert set(error) == {"message", "type", "param", "code"}, body
            body = error
        assert isinstance(body.get("message"), str), body
    return True


def operations(server: Server) -> list[Any]:
    schema = schemathesis.openapi.from_url(server.base_url + "/openapi.json")
    # Revoking tokens would lock the fuzzer out; the API tests cover DELETE.
    results = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results), results  # the schema is valid
    found = [result.ok() for result in results if isinstance(result, Ok)]
    return [operation for operation in found if operation.method.upper() != "DELETE"]


@pytest.mark.parametrize(
    "mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)
def test_no_input_breaks_an_endpoint(
    sqlite_server: Server, mode: schemathesis.GenerationMode
) -> None:
    token = sqlite_server.create_user(openai_key="sk-fuzzing-0500")
    fuzzed = operations(sqlite_server)
    assert {op.path for op in fuzzed} >= {"/api/chat/openai", "/api/profile", "/api/tokens"}
    sent = 0
    for operation in fuzzed:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Any) -> None:
            nonlocal sent
            sent += 1
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"},
                checks=[not_a_server_error, errors_are_json_messages],
                timeout=30,
            )

        try:
            call()
        except Exception as exc:
            pytest.fail(f"{operation.method.upper()} {operation.path}: {exc}")
    assert sent >= len(fuzzed) * 5  # every operation was really exercised
