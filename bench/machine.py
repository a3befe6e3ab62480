"""What the benchmark ran on."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from bench.results import Machine

ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def describe_machine() -> Machine:
    return Machine(
        cpus=len(os.sched_getaffinity(0)),
        cpu_model=cpu_model(),
        python=platform.python_version(),
        kernel=platform.release(),
        load_average=" ".join(Path("/proc/loadavg").read_text().split()[:3]),
    )


def source_commit() -> str:
    """The checked-out commit, marked when the work tree has changes."""
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return described.stdout.strip()
