"""Two chatgate instances behind nginx, sharing one PostgreSQL database and one
Redis, as a deployment of several instances runs (README, "Running on
PostgreSQL"): each with one worker and the benchmark's settings, so that the
limits, the quotas' counters and the identity feed go through Redis and the
ledger into PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace

from bench.measure import Target
from bench.nginx import find_nginx, nginx_version, running_nginx
from bench.services import create_user
from bench.shared_state import flushed_redis, throwaway_database
from bench.systems import API_KEY, USERNAME, Systems, serving

INSTANCES = 2
SYSTEM = f"{INSTANCES} chatgate + nginx"


@dataclass(frozen=True, slots=True)
class RunningCluster:
    target: Target  # nginx's port; the CPU of every instance counts as the server's
    nginx_version: str


@asynccontextmanager
async def cluster(running_systems: Systems, *, connections: int) -> AsyncIterator[RunningCluster]:
    """The instances and nginx, in front of the run's fake upstream; raises
    NginxUnavailable or StateUnavailable when something it needs is missing."""
    nginx = find_nginx()
    version = await nginx_version(nginx)
    async with (
        throwaway_database() as database_url,
        flushed_redis() as redis_url,
        AsyncExitStack() as stack,
    ):
        env = dict(running_systems.env) | {
            "CHATGATE_DATABASE_URL": database_url,
            "CHATGATE_REDIS_URL": redis_url,
        }
        token = await create_user(username=USERNAME, api_key=API_KEY, env=env)
        log_dir = running_systems.data_dir
        instances = [
            await stack.enter_async_context(
                serving(workers=1, env=env, log_dir=log_dir, name=f"chatgate-cluster-{n}")
            )
            for n in range(1, INSTANCES + 1)
        ]
        proxy = await stack.enter_async_context(
            running_nginx(
                nginx=nginx,
                directory=log_dir / "nginx",
                upstream_ports=[i.port for i in instances],
                connections=connections,
            )
        )
        target = replace(
            running_systems.chatgate,
            system=SYSTEM,
            port=proxy.port,
            token=token,
            server_pid=instances[0].pid,
            other_server_pids=tuple(i.pid for i in instances[1:]),
            proxy_pid=proxy.pid,
        )
        yield RunningCluster(target=target, nginx_version=version)
