"""A local nginx in front of several chatgate instances: round robin over
keep-alive upstream connections, answers passed through unbuffered as the
README's "Exposing chatgate" asks, on a free loopback port."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from bench.services import HOST, Service, free_port, running_command

TEMP_KINDS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
VERSION_TIMEOUT_S = 10.0


class NginxUnavailable(Exception):
    pass


def nginx_conf(
    directory: Path, *, port: int, upstream_ports: Sequence[int], connections: int
) -> str:
    """nginx's configuration: ``connections`` is the most client connections at once."""
    servers = "\n".join(f"        server {HOST}:{p};" for p in upstream_ports)
    temp_paths = "\n".join(f"    {kind}_temp_path {directory / kind};" for kind in TEMP_KINDS)
    # Each client connection has one to an instance beside it, and every one of them
    # may stay open between requests.
    return f"""{"user root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 1;
worker_rlimit_nofile {4 * connections + 1024};
pid {directory / "nginx.pid"};
error_log {directory / "nginx-error.log"} warn;
events {{ worker_connections {2 * connections + 512}; }}
http {{
    access_log off;
{temp_paths}
    upstream chatgate {{
{servers}
        keepalive {connections};
        keepalive_requests 1000000;
    }}
    server {{
        listen {HOST}:{port} backlog=4096;
        keepalive_requests 1000000;
        client_max_body_size 20m;
        location / {{
            proxy_pass http://chatgate;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 600s;
        }}
    }}
}}
"""


def write_conf(
    directory: Path, *, port: int, upstream_ports: Sequence[int], connections: int
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "nginx.conf"
    conf.write_text(
        nginx_conf(directory, port=port, upstream_ports=upstream_ports, connections=connections)
    )
    return conf


async def nginx_version(nginx: str) -> str:
    process = await asyncio.create_subprocess_exec(
        nginx, "-v", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), VERSION_TIMEOUT_S)
    return out.decode(errors="replace").strip().rsplit("/", 1)[-1]


def find_nginx() -> str:
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).is_file()), None
    )
    if nginx is None:
        raise NginxUnavailable("nginx not found")
    return nginx


@asynccontextmanager
async def running_nginx(
    *, nginx: str, directory: Path, upstream_ports: Sequence[int], connections: int
) -> AsyncIterator[Service]:
    """nginx in front of ``upstream_ports`` for the duration of the block."""
    port = free_port()
    conf = write_conf(directory, port=port, upstream_ports=upstream_ports, connections=connections)
    command = [nginx, "-p", str(directory), "-c", str(conf), "-e", str(directory / "nginx.log")]
    async with running_command(
        name="nginx", command=command, port=port, env=os.environ, log_dir=directory
    ) as service:
        yield service
