"""Images as the front end sends them: ``data:<media type>;base64,<data>`` URLs."""

from __future__ import annotations


def split_data_url(url: str) -> tuple[str, str] | None:
    """The media type and base64 data of a data URL; None for any other URL."""
    if not url.startswith("data:"):
        return None
    header, comma, data = url[5:].partition(",")
    if not comma or not data or not header.endswith(";base64"):
        return None
    media_type = header.split(";", 1)[0]
    return (media_type, data) if media_type else None


def image_url(part: dict[str, object]) -> str | None:
    """The URL of an OpenAI ``image_url`` part (``{"image_url": {"url": ...}}``)."""
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    return url if isinstance(url, str) and url else None
