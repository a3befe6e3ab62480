"""Reading the Supabase session cookie as browsers send it.

``tests/fixtures/supabase_cookies/cookies.json`` holds Cookie headers built by
``@supabase/ssr`` 0.0.10 (what Chatbot UI pins: raw JSON, split, then encoded)
and 0.12 (``base64-``, encoded, then split) themselves: see ``make_cookies.mjs``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from chatgate.supabase.cookies import (
    MAX_CHUNKS,
    MAX_COOKIE_HEADER,
    session_access_token,
    session_cookie_name,
)

NAME = "sb-abcd-auth-token"
FIXTURES: list[dict[str, str]] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "supabase_cookies" / "cookies.json").read_text()
)


def browser_cookie(name: str, value: str) -> str:
    # What document.cookie = serialize(name, value) sends back: encodeURIComponent.
    return name + "=" + quote(value, safe="-_.!~*'()")


def session_json(token: str = "header.payload.signature") -> str:  # noqa: S107
    return json.dumps({"access_token": token, "refresh_token": "r", "user": {"id": "u"}})


def base64_value(text: str) -> str:
    return "base64-" + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://abcd.supabase.co", "sb-abcd-auth-token"),
        ("https://ABCD.supabase.co/", "sb-abcd-auth-token"),
        ("http://127.0.0.1:54321", "sb-127-auth-token"),
        ("http://localhost:54321", "sb-localhost-auth-token"),
    ],
)
def test_the_cookie_is_named_after_the_first_label_of_the_project_host(url: str, name: str) -> None:
    assert session_cookie_name(url) == name


@pytest.mark.parametrize(
    "fixture",
    FIXTURES,
    ids=[f"{f['version']}-{f['cookie'].count('=')}-cookies" for f in FIXTURES],
)
def test_sessions_written_by_both_library_versions_are_read(fixture: dict[str, str]) -> None:
    assert session_access_token(fixture["cookie"], cookie_name=NAME) == fixture["access_token"]


def test_the_fixtures_cover_one_and_several_chunks_in_both_formats() -> None:
    shapes = {(f["version"], ".0=" in f["cookie"], "base64-" in f["cookie"]) for f in FIXTURES}
    assert shapes == {
        ("0.0.10", False, False),
        ("0.0.10", True, False),
        ("0.12", False, True),
        ("0.12", True, True),
    }


@pytest.mark.parametrize("fixture", FIXTURES[1::2], ids=lambda f: f["version"])
def test_chunks_join_in_numeric_order_among_other_cookies(fixture: dict[str, str]) -> None:
    pairs = fixture["cookie"].split("; ")
    header = "; ".join(
        [
            "theme=dark",
            f"{NAME}-code-verifier=%22verifier%22",
            *reversed(pairs),
            "sb-other-auth-token=" + quote(session_json("someone-else")),
        ]
    )
    assert session_access_token(header, cookie_name=NAME) == fixture["access_token"]


def test_the_unchunked_cookie_wins_over_stale_chunks() -> None:
    header = "; ".join(
        [
            browser_cookie(f"{NAME}.0", session_json("stale")[:20]),
            browser_cookie(f"{NAME}.1", session_json("stale")[20:]),
            browser_cookie(NAME, session_json("current")),
        ]
    )
    assert session_access_token(header, cookie_name=NAME) == "current"


def test_chunks_stop_at_the_first_missing_index() -> None:
    value = session_json("token")
    header = "; ".join(
        [browser_cookie(f"{NAME}.0", value[:15]), browser_cookie(f"{NAME}.2", value[15:])]
    )
    assert session_access_token(header, cookie_name=NAME) is None


def test_ten_chunks_are_joined_as_numbers_not_as_text() -> None:
    value = base64_value(session_json("ten-chunks"))
    size = len(value) // 10 + 1
    pieces = [value[i * size : (i + 1) * size] for i in range(10)]
    header = "; ".join(
        browser_cookie(f"{NAME}.{i}", p)
        for i, p in sorted(enumerate(pieces), key=lambda item: str(item[0]))
    )
    assert session_access_token(header, cookie_name=NAME) == "ten-chunks"


def test_more_chunks_than_a_session_needs_are_refused() -> None:
    value = session_json("many") + " " * MAX_CHUNKS * 4
    size = len(value) // MAX_CHUNKS
    fits = [value[i * size : (i + 1) * size] for i in range(MAX_CHUNKS - 1)]
    fits.append(value[(MAX_CHUNKS - 1) * size :])
    header = "; ".join(browser_cookie(f"{NAME}.{i}", p) for i, p in enumerate(fits))
    assert session_access_token(header, cookie_name=NAME) == "many"
    too_many = header + "; " + browser_cookie(f"{NAME}.{MAX_CHUNKS}", " ")
    assert session_access_token(too_many, cookie_name=NAME) is None


def test_only_the_code_verifier_is_no_session() -> None:
    header = browser_cookie(f"{NAME}-code-verifier", '"abc"')
    assert session_access_token(header, cookie_name=NAME) is None


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "header",
    [
        "",
        "theme=dark",
        f"{NAME}=",
        f"{NAME}=%FF%FE",
        f"{NAME}=not-json",
        f"{NAME}=base64-@@@@",
        f"{NAME}=base64-" + base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        browser_cookie(NAME, base64_value("[1, 2]")),
        browser_cookie(NAME, json.dumps({"refresh_token": "r"})),
        browser_cookie(NAME, json.dumps({"access_token": 12})),
        browser_cookie(NAME, json.dumps({"access_token": ""})),
        browser_cookie(NAME, nested(20_000)),
        browser_cookie(NAME, base64_value(nested(20_000))),
        f"{NAME}=" + "a" * MAX_COOKIE_HEADER,
        browser_cookie(NAME, session_json("x" * 60_000)),
        f"{NAME}.00=" + quote(session_json()),
        f"{NAME}.-1=" + quote(session_json()),
        ";;;==;=;" * 100,
    ],
    ids=lambda h: h[:40],
)
def test_garbage_is_no_session_and_never_an_error(header: str) -> None:
    assert session_access_token(header, cookie_name=NAME) is None


def test_a_quoted_value_is_unquoted_as_cookie_parsers_do() -> None:
    header = f'{NAME}="{quote(session_json("quoted"))}"'
    assert session_access_token(header, cookie_name=NAME) == "quoted"


def test_plus_signs_stay_plus_signs() -> None:
    # encodeURIComponent writes + as %2B; a literal + in a cookie is not a space.
    value: dict[str, Any] = {"access_token": "a+b"}
    assert session_access_token(f"{NAME}={json.dumps(value)}", cookie_name=NAME) == "a+b"
