"""The media files of a WhatsApp export .zip, described on their messages (never copied).

An export made "with media" holds each attachment beside `_chat.txt` under the name the chat
line gives (`IMG-20240102-WA0003.jpg (file attached)`, `<attached: 00000012-PHOTO-….jpg>`).
Each is read once, streaming, and described in the message's metadata:

- `sha256`: the SHA-256 of the file, 64 lowercase hex digits. WhatsApp's Cloud API sends the
  same hash of the same (decrypted) file on the live copy's media object (base64 there; the
  store compares both spellings), so export/live matching (supabase/schemas/12_match.sql)
  recognises the two copies of one photo, and tells two photos of one minute apart;
- `size` in bytes, `mime_type` (from the file name), `filename`;
- `zip_member`: the member's name inside the zip, so a later upload to Storage can take that
  one file from the same zip without reading the chat again (docs/importing.md).
"""

from __future__ import annotations

import hashlib
import mimetypes
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import limits


class ZipMedia:
    """Describes the attachments of one open export zip, by the file name a chat line gives."""

    def __init__(self, path: Path, zf: zipfile.ZipFile) -> None:
        self.path, self.zf = path, zf
        self.members: dict[str, str] = {}
        for info in zf.infolist():
            if not info.is_dir():
                self.members.setdefault(info.filename.rsplit("/", 1)[-1], info.filename)

    def describe(self, name: str) -> dict[str, Any] | None:
        """sha256, size, mime_type, filename and zip_member of the attachment `name`; None
        when the zip does not hold it (an export without media)."""
        member = self.members.get(name.rsplit("/", 1)[-1])
        if member is None:
            return None
        digest, size = hashlib.sha256(), 0
        with limits.zip_member(self.path, self.zf, member) as stream:
            for chunk in iter(lambda: stream.read(1 << 16), b""):
                digest.update(chunk)
                size += len(chunk)
        described: dict[str, Any] = {
            "sha256": digest.hexdigest(),
            "size": size,
            "filename": name,
            "zip_member": member,
        }
        mime = mimetypes.guess_type(name, strict=False)[0]
        if mime:
            described["mime_type"] = mime
        return described


@contextmanager
def zip_media(path: Path) -> Iterator[ZipMedia | None]:
    """The media of an export .zip while it is read; None for a .txt."""
    if path.suffix.lower() != ".zip":
        yield None
        return
    with limits.open_zip(path) as zf:
        yield ZipMedia(path, zf)
