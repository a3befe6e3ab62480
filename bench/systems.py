"""The systems under test, running: the fake upstream (the floor), chatgate in
front of it with a user and key, and the Node reference taking the same
requests; each stopped on the way out."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from bench.bodies import chatbot_ui_body, openai_body
from bench.fdlimit import raise_fd_limit
from bench.measure import Target
from bench.node_route import NodeRoute, node_env
from bench.services import (
    HOST,
    Service,
    chatgate_env,
    create_user,
    free_port,
    running,
    running_command,
)

API_KEY = "sk-x"
USERNAME = "bench"


@asynccontextmanager
async def serving(
    *, workers: int, env: Mapping[str, str], log_dir: Path, name: str | None = None
) -> AsyncIterator[Service]:
    """``chatgate serve`` with ``workers`` workers on a free port."""
    port = free_port()
    args = ["serve", "--host", HOST, "--port", str(port), "--workers", str(workers)]
    async with running(
        name=name or f"chatgate-{workers}w", args=args, port=port, env=env, log_dir=log_dir
    ) as service:
        yield service


@dataclass(frozen=True, slots=True)
class Systems:
    """The two systems under test, running: the floor and chatgate in front of it."""

    floor: Target
    chatgate: Target
    env: Mapping[str, str]
    data_dir: Path
    chatgate_log: Path

    def through(self, service: Service, *, system: str) -> Target:
        """chatgate's target, served by another running chatgate ``service``."""
        return replace(self.chatgate, system=system, port=service.port, server_pid=service.pid)


@asynccontextmanager
async def systems(
    *, workers: int, max_concurrency: int, settings: Mapping[str, str] | None = None
) -> AsyncIterator[Systems]:
    """The fake upstream and chatgate with a user and key, stopped on the way out;
    ``settings`` are CHATGATE_ variables for chatgate beyond its defaults."""
    # Inherited by the servers, which hold a client and an upstream socket per stream.
    raise_fd_limit(4 * max_concurrency + 1024)
    async with AsyncExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chatgate-bench-")))
        fake_port = free_port()
        env = chatgate_env(data_dir=data_dir, upstream_port=fake_port) | dict(settings or {})
        fake = await stack.enter_async_context(
            running(
                name="fake-openai",
                args=["fake-openai", "--host", HOST, "--port", str(fake_port)],
                port=fake_port,
                env=env,
                log_dir=data_dir,
            )
        )
        token = await create_user(username=USERNAME, api_key=API_KEY, env=env)
        server = await stack.enter_async_context(
            serving(workers=workers, env=env, log_dir=data_dir)
        )
        yield Systems(
            floor=Target(
                system="floor",
                port=fake.port,
                path="/v1/chat/completions",
                token=API_KEY,
                mode="sse",
                body=openai_body,
                server_pid=fake.pid,
                upstream_pid=None,
            ),
            chatgate=Target(
                system="chatgate",
                port=server.port,
                path="/api/chat/openai",
                token=token,
                mode="text",
                body=chatbot_ui_body,
                server_pid=server.pid,
                upstream_pid=fake.pid,
            ),
            env=env,
            data_dir=data_dir,
            chatgate_log=server.log_path,
        )


@asynccontextmanager
async def node_serving(*, route: NodeRoute, running_systems: Systems) -> AsyncIterator[Target]:
    """The Node reference in front of the same fake upstream, taking chatgate's
    requests (the same body and token), for the duration of the block."""
    port = free_port()
    env = node_env(
        base=dict(running_systems.env),
        host=HOST,
        port=port,
        token=running_systems.chatgate.token,
        api_key=API_KEY,
    )
    async with running_command(
        name="node-reference",
        command=route.command(),
        port=port,
        env=env,
        log_dir=running_systems.data_dir,
    ) as service:
        yield replace(running_systems.chatgate, system="node", port=port, server_pid=service.pid)
