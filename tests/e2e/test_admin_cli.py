"""The admin role and disabled users from the command line, seen by a running server."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from tests.e2e.conftest import Server


def me(server: Server, token: str) -> httpx.Response:
    return httpx.get(server.base_url + "/api/me", headers={"Authorization": f"Bearer {token}"})


def eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert check()


def test_the_admin_role_and_disabling_from_the_cli(sqlite_server: Server) -> None:
    server = sqlite_server
    token = server.cli("user", "create", "grace", "--admin").stdout.strip().splitlines()[-1]
    server.secrets_used.add(token)
    assert me(server, token).json() == {"username": "grace", "is_admin": True}
    listed = [line.split("\t") for line in server.cli("user", "list").stdout.splitlines()]
    assert [row[3:] for row in listed if row[1] == "grace"] == [["admin", "active"]]

    assert server.cli("user", "admin", "grace", "--off").stdout.strip() == (
        "grace is no longer an administrator"
    )
    eventually(lambda: me(server, token).json()["is_admin"] is False)
    server.cli("user", "disable", "grace")
    eventually(lambda: me(server, token).status_code == 401)
    server.cli("user", "enable", "grace")
    eventually(lambda: me(server, token).status_code == 200)

    missing = server.cli("user", "admin", "nobody", "--on", check=False)
    assert missing.returncode == 1
    assert "no user named 'nobody'" in missing.stderr
    needs_a_choice = server.cli("user", "admin", "grace", check=False)
    assert needs_a_choice.returncode == 2
