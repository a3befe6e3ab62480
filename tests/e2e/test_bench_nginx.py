"""The benchmark's nginx configuration (two chatgate instances behind it) is one
nginx accepts. Without nginx this fails rather than skips: the benchmark would
leave its two-instance case out."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench.nginx import NginxUnavailable, find_nginx, write_conf


def test_nginx_accepts_the_benchmark_configuration(tmp_path: Path) -> None:
    try:
        nginx = find_nginx()
    except NginxUnavailable:
        pytest.fail("nginx is not installed: scripts/services installs it (Debian's)")
    conf = write_conf(tmp_path, port=8080, upstream_ports=[9001, 9002], connections=1000)
    checked = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "nginx.log")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
