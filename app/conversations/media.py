"""Files agents attach to replies: kept under the data directory, served at an
unguessable URL (providers such as Twilio fetch MMS media from it, so it cannot require a
sign-in)."""

from __future__ import annotations

import mimetypes
import re
import secrets
from pathlib import Path

from app.domain.errors import InvalidInput

MAX_BYTES = 10 * 1024 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(filename: str) -> str:
    name = _SAFE.sub("_", Path(filename or "file").name).strip("._") or "file"
    return name[:100]


def store(
    data_dir: Path,
    public_url: str,
    filename: str,
    content_type: str,
    data: bytes,
    area: str = "media",
) -> dict:
    """Keep `data` under `data_dir/<area>/<key>/` and describe it as a Media; `area` is
    also the URL's path (talk files live under `talks/<talk id>/files`, served only to the
    talk's participants)."""
    if not data:
        raise InvalidInput("empty_file", f"{filename or 'The file'} is empty.")
    if len(data) > MAX_BYTES:
        raise InvalidInput("file_too_large", "Attachments can be at most 10 MB each.")
    key = secrets.token_urlsafe(16)
    name = safe_name(filename)
    folder = data_dir / area / key
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    kind = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    if not re.match(r"^[\w.+-]+/[\w.+-]+$", kind):
        kind = "application/octet-stream"
    return {
        "type": kind,
        "url": f"{public_url}/{area}/{key}/{name}",
        "name": filename[:255] or name,
    }


_INLINE = ("image/", "audio/", "video/", "application/pdf", "text/plain")


def shows_inline(name: str) -> bool:
    """Whether a stored file may open in the browser rather than download."""
    kind = mimetypes.guess_type(name)[0] or ""
    return kind.startswith(_INLINE) and kind != "image/svg+xml"


def path_of(data_dir: Path, key: str, name: str, area: str = "media") -> Path | None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{10,64}", key) or safe_name(name) != name:
        return None
    path = data_dir / area / key / name
    return path if path.is_file() else None
