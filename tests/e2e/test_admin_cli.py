"""The admin role and disabled users from the command line, seen by a running server
(on each database backend), and the page's sessions they end."""

from __future__ import annotations

import os
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


def test_the_admin_role_and_disabling_from_the_cli(server: Server) -> None:
    name = "grace-" + os.urandom(3).hex()
    token = server.cli("user", "create", name, "--admin").stdout.strip().splitlines()[-1]
    server.secrets_used.add(token)
    assert me(server, token).json() == {"username": name, "is_admin": True}
    signed_in = httpx.post(server.base_url + "/api/session", json={"token": token})
    session = {"chatgate_session": signed_in.cookies["chatgate_session"]}
    assert httpx.get(server.base_url + "/api/me", cookies=session).status_code == 200
    listed = [line.split("\t") for line in server.cli("user", "list").stdout.splitlines()]
    assert [row[3:] for row in listed if row[1] == name] == [["admin", "active"]]

    assert server.cli("user", "admin", name, "--off").stdout.strip() == (
        f"{name} is no longer an administrator"
    )
    eventually(lambda: me(server, token).json()["is_admin"] is False)
    server.cli("user", "disable", name)
    eventually(lambda: me(server, token).status_code == 401)
    assert httpx.get(server.base_url + "/api/me", cookies=session).status_code == 401
    server.cli("user", "enable", name)
    eventually(lambda: me(server, token).status_code == 200)

    missing = server.cli("user", "admin", "nobody", "--on", check=False)
    assert missing.returncode == 1
    assert "no user named 'nobody'" in missing.stderr
    needs_a_choice = server.cli("user", "admin", name, check=False)
    assert needs_a_choice.returncode == 2
