"""The Node reference (bench/node_reference/): Chatbot UI's original route on Node,
its packages installed from the npm registry into a cache keyed by the lock file's
hash, and its server file beside them, ready to start."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

SOURCE_DIR = Path(__file__).parent / "node_reference"
PACKAGE_FILES = ("package.json", "package-lock.json")
SERVER_FILE = "server.mjs"
# Production packages only: ai 2.2's peers (React, Svelte, Vue) are for its UI hooks.
NPM_CI = ("ci", "--omit=dev", "--omit=peer", "--ignore-scripts", "--no-audit", "--no-fund")
INSTALL_TIMEOUT_S = 300.0
VERSION_TIMEOUT_S = 10.0


class NodeUnavailable(Exception):
    """Why the Node reference cannot run here; the run goes on without it."""


@dataclass(frozen=True, slots=True)
class NodeRoute:
    node: str  # the node executable
    version: str  # as `node --version` prints it
    directory: Path  # the installed packages and the server file

    def command(self) -> list[str]:
        return [self.node, str(self.directory / SERVER_FILE)]


def cache_root() -> Path:
    """Where installs are kept between runs: ``$XDG_CACHE_HOME/chatgate-bench``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chatgate-bench"


def install_dir(root: Path, lock: bytes) -> Path:
    """The cache entry for one lock file: a changed lock gets a fresh install."""
    return root / f"node-reference-{hashlib.sha256(lock).hexdigest()[:16]}"


def node_env(
    *, base: dict[str, str], port: int, host: str, token: str, api_key: str
) -> dict[str, str]:
    """The Node server's environment: ``base`` (which carries OPENAI_BASE_URL) and its settings."""
    return base | {
        "HOST": host,
        "PORT": str(port),
        "CHAT_TOKEN": token,
        "CHAT_OPENAI_API_KEY": api_key,
    }


async def _run(*args: str, cwd: Path, timeout_s: float) -> tuple[int, str]:
    """A command's exit status and its output (standard output and error together)."""
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        return -1, f"no answer after {timeout_s:.0f} s"
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace")


def _last_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def _staging_dir(root: Path, target: Path) -> Path:
    """A fresh folder beside ``target`` holding the package files."""
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=root))
    for name in PACKAGE_FILES:
        shutil.copyfile(SOURCE_DIR / name, staging / name)
    return staging


def _move_into_place(staging: Path, target: Path) -> None:
    try:
        staging.rename(target)
    except OSError:
        if not target.is_dir():  # else a concurrent install got there first: as good
            raise


async def _install_packages(*, npm: str, root: Path, target: Path) -> None:
    """``npm ci`` in a staging folder renamed into place when complete, so that an
    interrupted or concurrent install never leaves a half-filled cache entry."""
    staging = _staging_dir(root, target)
    try:
        status, output = await _run(npm, *NPM_CI, cwd=staging, timeout_s=INSTALL_TIMEOUT_S)
        if status != 0:
            raise NodeUnavailable(f"npm ci failed: {_last_line(output)}")
        _move_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _place_server(target: Path) -> None:
    """The server file beside its packages (Node resolves imports from the file's own
    folder), copied on every start so that an edited server.mjs is the one that runs."""
    fd, temporary = tempfile.mkstemp(prefix=f"{SERVER_FILE}.", dir=target)
    os.close(fd)
    shutil.copyfile(SOURCE_DIR / SERVER_FILE, temporary)
    os.replace(temporary, target / SERVER_FILE)


async def install(root: Path | None = None) -> NodeRoute:
    """The Node reference ready to start, installing its packages on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if not path)
        raise NodeUnavailable(f"{missing} not found on PATH")
    status, version = await _run(node, "--version", cwd=SOURCE_DIR, timeout_s=VERSION_TIMEOUT_S)
    if status != 0:
        raise NodeUnavailable(f"node --version failed: {_last_line(version)}")
    root = root or cache_root()
    target = install_dir(root, (SOURCE_DIR / "package-lock.json").read_bytes())
    try:
        if not target.is_dir():
            await _install_packages(npm=npm, root=root, target=target)
        _place_server(target)
    except OSError as exc:
        raise NodeUnavailable(f"cannot write the package cache {root}: {exc}") from exc
    return NodeRoute(node=node, version=version.strip(), directory=target)
