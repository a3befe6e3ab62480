"""The page's static files, served by chatgate itself at ``/`` and ``/static/<name>``.

The files are read once, when the app is built, and kept in memory with their
gzip form and a strong ETag: a browser revalidates (``Cache-Control: no-cache``)
and gets a 304 while the file is unchanged, so a new chatgate is picked up at
once and an unchanged one costs no body. Every response carries a strict
Content-Security-Policy: scripts and styles from this origin only, no inline
script, no framing.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from importlib.resources import files

from fastapi import APIRouter, Request, Response

from chatgate.errors import NotFound

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; "
    "frame-ancestors 'none'"
)
TYPES = {".js": "text/javascript", ".svg": "image/svg+xml", ".css": "text/css"}


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    gzipped: bytes | None  # None where gzip saves nothing worth having
    media_type: str
    etag: str


def load_static_files() -> dict[str, StaticFile]:
    """Every file of ``chatgate/page/static``, by name."""
    found: dict[str, StaticFile] = {}
    for entry in files("chatgate.page").joinpath("static").iterdir():
        if not entry.is_file():
            continue
        body = entry.read_bytes()
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        media_type = TYPES.get(suffix) or mimetypes.guess_type(entry.name)[0] or "text/plain"
        if media_type.startswith("text/") or media_type.endswith("+xml"):
            media_type += "; charset=utf-8"
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        found[entry.name] = StaticFile(
            body=body,
            gzipped=packed if len(packed) < len(body) * 0.9 else None,
            media_type=media_type,
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
        )
    return found


def page_router(static: dict[str, StaticFile]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def serve(name: str, request: Request) -> Response:
        found = static.get(name)
        if found is None:
            raise NotFound("No such file")
        headers = {
            "ETag": found.etag,
            "Cache-Control": "no-cache",
            "Vary": "Accept-Encoding",
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Referrer-Policy": "same-origin",
        }
        if found.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        body = found.body
        if found.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            body = found.gzipped
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=found.media_type, headers=headers)

    @router.get("/")
    async def index(request: Request) -> Response:
        return serve("index.html", request)

    @router.get("/static/{name}")
    async def static_file(name: str, request: Request) -> Response:
        return serve(name, request)

    return router
