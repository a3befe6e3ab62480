"""The same-site rule for requests signed in by cookie."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from chatgate.errors import Forbidden
from chatgate.supabase.request_origin import origin_of, refuse_cross_site

PROXIES = [ip_network("10.0.0.0/8"), ip_network("::1/128")]
CORS = ["https://admin.example.com"]


def allowed(
    headers: dict[str, str], *, scheme: str = "https", peer: str | None = "203.0.113.9"
) -> bool:
    try:
        refuse_cross_site(
            headers=headers,
            scheme=scheme,
            peer=peer,
            trusted_proxies=PROXIES,
            allowed_origins=CORS,
        )
    except Forbidden as exc:
        refusal = (exc.status, exc.message)
    else:
        return True
    assert refusal == (403, "Cross-site request refused")
    return False


def test_a_page_of_the_same_site_may_post() -> None:
    assert allowed({"host": "chat.example.com", "origin": "https://chat.example.com"})
    assert allowed({"host": "CHAT.example.com:443", "origin": "https://chat.EXAMPLE.com"})
    assert allowed({"host": "localhost:3000", "origin": "http://localhost:3000"}, scheme="http")


def test_a_page_of_another_site_may_not() -> None:
    assert not allowed({"host": "chat.example.com", "origin": "https://evil.example.net"})
    # Same host, other scheme or port: another origin.
    assert not allowed({"host": "chat.example.com", "origin": "http://chat.example.com"})
    assert not allowed({"host": "chat.example.com", "origin": "https://chat.example.com:8443"})
    assert not allowed({"host": "chat.example.com", "origin": "https://chat.example.com.evil.net"})


def test_origin_null_is_foreign() -> None:
    assert not allowed({"host": "chat.example.com", "origin": "null"})


def test_without_origin_the_referer_decides() -> None:
    host = {"host": "chat.example.com"}
    assert allowed({**host, "referer": "https://chat.example.com/chat/123?x=1"})
    assert not allowed({**host, "referer": "https://evil.example.net/page"})
    assert not allowed({**host, "referer": "not a url"})
    # Origin wins over Referer when both are there.
    assert not allowed(
        {**host, "origin": "https://evil.example.net", "referer": "https://chat.example.com/"}
    )


def test_a_request_naming_no_page_is_allowed() -> None:
    # curl, scripts, and same-origin requests of browsers that send neither header.
    assert allowed({"host": "chat.example.com"})
    assert allowed({})


def test_cors_origins_are_same_site() -> None:
    assert allowed({"host": "chat.example.com", "origin": "https://admin.example.com"})
    assert allowed({"host": "chat.example.com", "origin": "https://admin.example.com:443"})


def test_forwarded_host_and_proto_count_only_from_a_trusted_proxy() -> None:
    behind_proxy = {
        "host": "chatgate:8000",
        "x-forwarded-host": "chat.example.com",
        "x-forwarded-proto": "https",
        "origin": "https://chat.example.com",
    }
    assert allowed(behind_proxy, scheme="http", peer="10.1.2.3")
    assert allowed(behind_proxy, scheme="http", peer="::1")
    assert allowed(behind_proxy, scheme="http", peer="::ffff:10.1.2.3")
    assert not allowed(behind_proxy, scheme="http", peer="203.0.113.9")
    assert not allowed(behind_proxy, scheme="http", peer=None)
    # A page cannot pass for the site by sending the headers itself.
    forged = {
        "host": "chat.example.com",
        "x-forwarded-host": "evil.example.net",
        "origin": "https://evil.example.net",
    }
    assert not allowed(forged, peer="203.0.113.9")


def test_the_nearest_proxys_forwarded_host_is_used() -> None:
    appended = {
        "host": "chatgate:8000",
        "x-forwarded-host": "evil.example.net, chat.example.com",
        "x-forwarded-proto": "http, https",
    }
    assert allowed({**appended, "origin": "https://chat.example.com"}, peer="10.0.0.2")
    assert not allowed({**appended, "origin": "https://evil.example.net"}, peer="10.0.0.2")


@pytest.mark.parametrize(
    "origin",
    ["https://[::1", "https://chat.example.com:99999", "javascript:alert(1)", "", " ", "/relative"],
)
def test_an_origin_that_is_not_one_is_foreign_and_never_an_error(origin: str) -> None:
    assert not allowed({"host": "chat.example.com", "origin": origin})


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Chat.Example.com/x", "https://chat.example.com"),
        ("http://example.com:80", "http://example.com"),
        ("http://example.com:8080/", "http://example.com:8080"),
        ("https://[::1]:8443/a", "https://[::1]:8443"),
        ("null", None),
        ("file:///etc/passwd", None),
    ],
)
def test_origin_of(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin
