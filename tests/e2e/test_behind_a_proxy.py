"""README.md's nginx server block and Caddyfile, run for real: chat goes to chatgate
and streams through as it is written, everything else to a stand-in for the Next.js app."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.chatbot_ui_database import ADD_GROQ, SCHEMA, database, sign_up
from tests.e2e.conftest import (
    CHAT_PATH,
    Server,
    Upstream,
    chat_body,
    free_port,
    run_server,
    stop,
    wait_for,
)
from tests.supabase_session import SECRET, SUPABASE_URL, access_token, plain_session_cookie

README = (Path(__file__).parents[2] / "README.md").read_text()
HOST = "chat.example.com"


@dataclass
class Site:
    url: str  # where the browser reaches the site
    origin: str  # the site's origin, as the browser names it in Origin
    http: str | None = None  # plain HTTP, when it redirects to url


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def substitute(text: str, old: str, new: str) -> str:
    assert old in text, f"README's nginx block no longer has {old!r}"
    return text.replace(old, new)


def block_of(language: str) -> str:
    found = re.search(rf"```{language}\n(.*?)```", README, re.DOTALL)
    assert found, f"README.md has no {language} block"
    return found.group(1)


def nginx_conf(tmp: Path, *, chatgate_port: int, next_port: int, ports: tuple[int, int]) -> Path:
    """The README's block as it stands, on loopback ports with a throwaway certificate."""
    cert, key = self_signed(tmp)
    block = block_of("nginx")
    block = substitute(block, "127.0.0.1:8000", f"127.0.0.1:{chatgate_port}")
    block = substitute(block, "127.0.0.1:3000", f"127.0.0.1:{next_port}")
    block = substitute(block, "listen 443 ssl;", f"listen 127.0.0.1:{ports[0]} ssl;")
    block = substitute(block, "listen 80;", f"listen 127.0.0.1:{ports[1]};")
    block = substitute(block, "/etc/letsencrypt/live/chat.example.com/fullchain.pem", str(cert))
    block = substitute(block, "/etc/letsencrypt/live/chat.example.com/privkey.pem", str(key))
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""{"user root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 1;
pid {tmp / "nginx.pid"};
error_log {tmp / "error.log"} notice;
events {{ worker_connections 64; }}
http {{
    access_log off;
{temp_paths}
{block}
}}
"""
    )
    return conf


def caddyfile(tmp: Path, *, chatgate_port: int, next_port: int, port: int) -> Path:
    """The README's Caddyfile as it stands, on a loopback port over plain HTTP."""
    block = block_of("caddyfile")
    block = substitute(block, "127.0.0.1:8000", f"127.0.0.1:{chatgate_port}")
    block = substitute(block, "127.0.0.1:3000", f"127.0.0.1:{next_port}")
    block = substitute(block, f"{HOST} {{", f"http://:{port} {{")
    conf = tmp / "Caddyfile"
    conf.write_text("{\n\tadmin off\n\tauto_https off\n}\n\n" + block)
    return conf


def need(program: str) -> None:
    if shutil.which(program) is None:
        pytest.fail(f"{program} is not installed: scripts/services installs it (Debian's)")


@contextmanager
def next_app(tmp: Path) -> Iterator[int]:
    """A stand-in for Chatbot UI's Next.js app: one page, nothing under /api."""
    pages = tmp / "next"
    pages.mkdir()
    (pages / "index.html").write_text("<title>Chatbot UI</title>")
    port, log = free_port(), tmp / "next.log"
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            cwd=pages,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/", process, log)
        yield port
    finally:
        stop(process)


@contextmanager
def running(command: list[str], *, log: Path, ready_url: str) -> Iterator[None]:
    with log.open("ab") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    try:
        wait_for(ready_url, process, log)
        yield
    finally:
        stop(process)


@pytest.fixture(scope="module")
def chatbot_ui_database() -> Iterator[str]:
    """The Supabase project's database, with Chatbot UI's tables (the fixture schema)."""
    yield from database(SCHEMA, ADD_GROQ)


def supabase_env(**extra: str) -> dict[str, str]:
    return {
        "CHATGATE_SUPABASE_URL": SUPABASE_URL,
        "CHATGATE_SUPABASE_JWT_SECRET": SECRET,
        **extra,
    }


@pytest.fixture(scope="module")
def gate(
    upstream: Upstream, chatbot_ui_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """chatgate as the README's "Behind Chatbot UI" runs it, behind the proxy below."""
    tmp = tmp_path_factory.mktemp("behind-chatbot-ui")
    env = supabase_env(
        CHATGATE_SUPABASE_DATABASE_URL=chatbot_ui_database, CHATGATE_TRUSTED_PROXIES="127.0.0.1"
    )
    yield from run_server(tmp, upstream, f"sqlite:///{tmp / 'chatgate.db'}", env)


@pytest.fixture(scope="module", params=["nginx", "caddy"])
def site(
    request: pytest.FixtureRequest, gate: Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    proxy = request.param
    need(proxy)
    tmp = tmp_path_factory.mktemp(proxy)
    chatgate_port = int(gate.base_url.rsplit(":", 1)[1])
    with next_app(tmp) as next_port:
        if proxy == "nginx":
            https_port, http_port = free_port(), free_port()
            conf = nginx_conf(
                tmp, chatgate_port=chatgate_port, next_port=next_port, ports=(https_port, http_port)
            )
            command = ["nginx", "-c", str(conf), "-p", str(tmp)]
            with running(
                command, log=tmp / "nginx.out", ready_url=f"http://127.0.0.1:{http_port}/"
            ):
                yield Site(
                    url=f"https://127.0.0.1:{https_port}",
                    origin=f"https://{HOST}",
                    http=f"http://127.0.0.1:{http_port}",
                )
        else:
            port = free_port()
            conf = caddyfile(tmp, chatgate_port=chatgate_port, next_port=next_port, port=port)
            command = ["caddy", "run", "--config", str(conf), "--adapter", "caddyfile"]
            with running(command, log=tmp / "caddy.out", ready_url=f"http://127.0.0.1:{port}/"):
                yield Site(url=f"http://127.0.0.1:{port}", origin=f"http://{HOST}")


def client() -> httpx.Client:
    return httpx.Client(verify=False, headers={"Host": HOST}, timeout=30)  # noqa: S501


def read_as_it_arrives(
    site: Site, *, headers: dict[str, str], content: str
) -> list[tuple[float, str]]:
    arrivals: list[tuple[float, str]] = []
    with (
        client() as http,
        http.stream("POST", site.url + CHAT_PATH, content=content, headers=headers) as response,
    ):
        assert response.status_code == 200, response.read()
        started = time.monotonic()
        for text in response.iter_text():
            arrivals.append((time.monotonic() - started, text))
    return arrivals


def assert_word_by_word(arrivals: list[tuple[float, str]]) -> None:
    words = [text for _, text in arrivals]
    assert len(words) >= 4, words  # not one buffered lump
    assert arrivals[-1][0] - arrivals[0][0] > 0.9  # the pieces came 300 ms apart
    assert "".join(words).count(" ") >= 4


def test_chat_streams_through_nginx_as_it_is_written(gate: Server, site: Site) -> None:
    token = gate.create_user(openai_key="sk-behind-nginx-0001")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = json.dumps(chat_body("#fake chunks=5 delay_ms=300"))
    assert_word_by_word(read_as_it_arrives(site, headers=headers, content=body))


def front_end(site: Site, subject: str) -> dict[str, str]:
    """What the browser sends with Chatbot UI's fetchChatResponse: its page's origin,
    the session cookie, and the body labelled text/plain."""
    return {
        "Origin": site.origin,
        "Cookie": plain_session_cookie(access_token(subject)),
        "Content-Type": "text/plain;charset=UTF-8",
    }


def test_a_chatbot_ui_user_signed_in_by_cookie_chats_with_their_chatbot_ui_keys(
    gate: Server, site: Site, chatbot_ui_database: str
) -> None:
    subject = asyncio.run(sign_up(chatbot_ui_database, openai_api_key="sk-chatbot-ui-0001"))
    gate.secrets_used.add("sk-chatbot-ui-0001")
    body = json.dumps(chat_body("#fake chunks=5 delay_ms=300"))
    arrivals = read_as_it_arrives(site, headers=front_end(site, subject), content=body)
    assert_word_by_word(arrivals)


def test_a_chatbot_ui_user_without_a_key_gets_its_toast(
    site: Site, chatbot_ui_database: str
) -> None:
    subject = asyncio.run(sign_up(chatbot_ui_database))
    with client() as http:
        response = http.post(
            site.url + CHAT_PATH, content=json.dumps(chat_body()), headers=front_end(site, subject)
        )
    assert response.status_code == 400
    assert response.json() == {
        "message": "OpenAI API Key not found. Please set it in your profile settings."
    }


def test_a_cookie_sent_by_another_sites_page_is_refused_through_the_proxy(
    site: Site, chatbot_ui_database: str
) -> None:
    subject = asyncio.run(sign_up(chatbot_ui_database))
    headers = {**front_end(site, subject), "Origin": "https://evil.example"}
    with client() as http:
        response = http.post(site.url + CHAT_PATH, content=json.dumps(chat_body()), headers=headers)
    assert response.status_code == 403
    assert response.json() == {"message": "Cross-site request refused"}


@pytest.fixture(scope="module")
def trusting_no_proxy(
    upstream: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("no-proxy")
    yield from run_server(tmp, upstream, f"sqlite:///{tmp / 'chatgate.db'}", supabase_env())


def test_forwarded_headers_from_a_peer_not_trusted_are_ignored(trusting_no_proxy: Server) -> None:
    # From 127.0.0.1, which uvicorn on its own would believe: CHATGATE_TRUSTED_PROXIES is
    # empty, so the request's own origin stays http://chat.example.com.
    headers = {
        "Host": HOST,
        "Origin": f"https://{HOST}",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "203.0.113.9",
        "Cookie": plain_session_cookie(access_token()),
    }
    url = trusting_no_proxy.base_url + "/api/profile"
    refused = httpx.get(url, headers=headers)
    assert refused.status_code == 403
    assert refused.json() == {"message": "Cross-site request refused"}
    same = httpx.get(url, headers={**headers, "Origin": f"http://{HOST}"})
    assert same.status_code == 200


def test_an_error_before_the_answer_reaches_the_front_end_as_json(site: Site) -> None:
    with client() as http:
        response = http.post(site.url + CHAT_PATH, json=chat_body())
    assert response.status_code == 401
    assert "message" in response.json()


def test_everything_else_goes_to_the_next_js_app(site: Site) -> None:
    with client() as http:
        page = http.get(site.url + "/")
        keys = http.get(site.url + "/api/keys")
    assert page.status_code == 200
    assert "Chatbot UI" in page.text
    assert keys.status_code == 404  # the stand-in has no /api/keys: chatgate was not asked


@pytest.mark.parametrize("site", ["nginx"], indirect=True)  # Caddy does it by itself
def test_plain_http_is_sent_to_https(site: Site) -> None:
    assert site.http is not None
    with client() as http:
        plain = http.get(site.http + "/chat", follow_redirects=False)
    assert plain.status_code == 301
    assert plain.headers["location"] == f"https://{HOST}/chat"


@pytest.mark.postgres
def test_a_database_without_chatbot_uis_tables_stops_the_server_at_start(tmp_path: Path) -> None:
    for empty in database():
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CHATGATE_")},
            "CHATGATE_DATA_DIR": str(tmp_path),
            "CHATGATE_SECRET_KEY": "the-secret-of-every-test-server-0123456789",
            **supabase_env(CHATGATE_SUPABASE_DATABASE_URL=empty),
        }
        started = subprocess.run(
            [sys.executable, "-m", "chatgate", "serve", "--port", str(free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert started.returncode == 1
        assert started.stderr.strip().splitlines() == [
            "error: CHATGATE_SUPABASE_DATABASE_URL: public.profiles with a user_id column was"
            " not found: is this the database of a Chatbot UI project, and may the role read it?"
        ]
