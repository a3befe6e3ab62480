"""Where a user's own upstream may point: the URL as typed, the address once resolved."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from pydantic import ValidationError

from chatgate.custom_models import CustomModelFields
from chatgate.providers.urls import check_root_url
from chatgate.settings import Settings
from chatgate.upstream.destinations import (
    DestinationPolicy,
    DestinationRefused,
    GuardedResolver,
    destination,
    is_public,
)

BAD_ROOTS = [
    "http://h/v1#",  # empty fragment: gone once parsed, but it swallows /chat/completions
    "http://h/v1?",
    "http://h/v1?key=1",
    "http://h:99999/v1",
    "http://h:0/v1",
    "http://h:port/v1",
    "http://[::1",
    "http://me:secret@h/v1",
    "http://@h/v1",
    "http://h\\@evil.example/v1",
    "http://h%2f@evil/v1",
    "http://h /v1",
    "ftp://h/v1",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "h:11434/v1",
    "http:///v1",
]


@pytest.mark.parametrize("url", BAD_ROOTS)
def test_a_custom_model_base_url_is_checked_as_typed_and_as_parsed(url: str) -> None:
    with pytest.raises(ValidationError, match="base_url"):
        CustomModelFields(name="m", base_url=url, model_id="llama3", context_length=8)


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("http://127.0.0.1:11434/v1/", "http://127.0.0.1:11434/v1"),
        ("https://gateway.example.com/openai/v1", "https://gateway.example.com/openai/v1"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("HTTPS://xn--bcher-kva.example", "HTTPS://xn--bcher-kva.example"),
    ],
)
def test_plain_roots_pass(url: str, root: str) -> None:
    assert check_root_url(url) == root


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # the cloud metadata service
        ("100.64.0.1", False),  # shared address space
        ("0.0.0.0", False),  # noqa: S104 (an address to refuse, not to bind)
        ("::1", False),
        ("fd00::1", False),  # unique-local
        ("fe80::1", False),  # link-local
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:8.8.8.8", True),
        ("224.0.0.1", False),
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


class Rebinding(AbstractResolver):
    """A name that resolves to the given addresses, a different list each time."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=ip, port=port, family=family, proto=0, flags=0)
            for ip in self.answers.pop(0)
        ]

    async def close(self) -> None:
        return None


async def test_every_resolution_is_filtered_so_rebinding_gets_nowhere() -> None:
    inner = Rebinding(["93.184.215.14"], ["127.0.0.1"], ["10.0.0.8", "93.184.215.14"])
    resolver = GuardedResolver(DestinationPolicy(deny_private=True), inner)
    first = await resolver.resolve("rebind.example", 443)
    assert [r["host"] for r in first] == ["93.184.215.14"]
    with pytest.raises(DestinationRefused):
        await resolver.resolve("rebind.example", 443)
    mixed = await resolver.resolve("rebind.example", 443)
    assert [r["host"] for r in mixed] == ["93.184.215.14"]


async def test_allowed_hosts_and_the_operators_urls_are_not_filtered() -> None:
    policy = DestinationPolicy.build(
        deny_private=True,
        allowed=["ollama.lan", " 192.168.1.20 "],
        operator_urls=["http://gateway.internal:8080/v1"],
    )
    resolver = GuardedResolver(policy, Rebinding(["10.0.0.5"], ["10.0.0.6"], ["10.0.0.7"]))
    assert [r["host"] for r in await resolver.resolve("ollama.lan", 11434)] == ["10.0.0.5"]
    assert [r["host"] for r in await resolver.resolve("gateway.internal", 8080)] == ["10.0.0.6"]
    # The operator's host, on another port than the operator's: checked.
    with pytest.raises(DestinationRefused):
        await resolver.resolve("gateway.internal", 22)
    assert policy.allows(ipaddress.ip_address("192.168.1.20"), 1234)
    assert not policy.allows(ipaddress.ip_address("192.168.1.21"), 1234)


def test_an_allowed_entry_with_a_port_allows_that_port_only() -> None:
    policy = DestinationPolicy.build(
        deny_private=True, allowed=["127.0.0.1:11434", "[::1]:11434"], operator_urls=[]
    )
    loopback, ipv6_loopback = ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")
    assert policy.allows(loopback, 11434)
    assert policy.allows(ipv6_loopback, 11434)
    assert not policy.allows(loopback, 5432)
    assert not policy.exempt("localhost", 11434)  # a name resolving there is checked, and
    assert policy.allows(loopback, 11434)  # let through by the address it resolves to


@pytest.mark.parametrize(
    ("host", "denied"),
    [("127.0.0.1", False), ("localhost", False), ("::1", False), ("0.0.0.0", True), ("::", True)],  # noqa: S104,
)
def test_private_upstreams_are_denied_by_default_when_serving_beyond_loopback(
    host: str, denied: bool
) -> None:
    assert Settings(host=host).private_upstreams_denied is denied
    assert Settings(host=host, deny_private_upstreams=not denied).private_upstreams_denied is (
        not denied
    )


def test_allowed_upstream_hosts_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATGATE_ALLOWED_UPSTREAM_HOSTS", "127.0.0.1, localhost,,ollama.lan")
    assert Settings().allowed_upstream_hosts == ["127.0.0.1", "localhost", "ollama.lan"]


@pytest.mark.parametrize(
    ("entry", "parsed"),
    [
        ("localhost", ("localhost", None)),
        ("Ollama.LAN.", ("ollama.lan", None)),
        ("10.0.0.5:8080", ("10.0.0.5", 8080)),
        ("::1", ("::1", None)),
        ("[0:0::1]:11434", ("::1", 11434)),
        ("https://api.openai.com/v1", ("api.openai.com", 443)),
        ("http://gateway.internal/v1", ("gateway.internal", 80)),
    ],
)
def test_allowed_entries_and_operator_urls_are_read_as_host_and_port(
    entry: str, parsed: tuple[str, int | None]
) -> None:
    assert destination(entry) == parsed


@pytest.mark.parametrize("entry", ["ollama:abc", "http://[::1"])
def test_an_entry_that_is_no_host_says_which(entry: str) -> None:
    with pytest.raises(ValueError, match=r"is not a host, host:port or URL"):
        destination(entry)
