"""An export .zip with media meets the live copy of the same file (issue 29 item 8).

The export is an Android "Export chat" with media: the chat's .txt and the photo files beside
it, as WhatsApp names them (`IMG-20240102-WA0003.jpg (file attached)`); the photos are real
JPEG files (tests/fixtures/SOURCES.md). It goes in with `crm-messaging import` through the
gateway; the live copy is a signed Cloud API webhook through nginx to the messaging-ingest
function, carrying the photo's `sha256` in base64 as Meta sends it. Read back as the user.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .test_export_live import (
    APP_SECRET,
    WA_ID,
    connection,
    inbox,
    ingest_as,
    thread,
    wa_body,
    wa_import,
    wa_send,
    wa_start,
)

MEDIA = Path(__file__).parent / "fixtures" / "whatsapp" / "media"
PHOTO = MEDIA / "IMG-20240102-WA0003.jpg"
OTHER = MEDIA / "IMG-20240102-WA0004.jpg"


def export_zip(tmp_path: Path, start: datetime) -> Path:
    """Marta's chat exported with media: a text, then the photo a minute later."""
    at = [start, start + timedelta(minutes=1)]
    chat = (
        f"{at[0]:%d/%m/%Y, %H:%M} - Marta: Os mando la foto de la talla\n"
        f"{at[1]:%d/%m/%Y, %H:%M} - Marta: {PHOTO.name} (file attached)\n"
    )
    path = tmp_path / "WhatsApp Chat with Marta.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("WhatsApp Chat with Marta.txt", chat)
        zf.write(PHOTO, PHOTO.name)
    return path


def live_photo(start: datetime, file: Path) -> bytes:
    """The photo's webhook, 20 s into the export's second minute, with the file's sha256."""
    ts = str(int((start + timedelta(minutes=1, seconds=20)).timestamp()))
    sha = base64.b64encode(hashlib.sha256(file.read_bytes()).digest()).decode()
    msg = {"from": WA_ID, "id": "wamid.PHOTO", "timestamp": ts, "type": "image",
           "image": {"id": "1003383421387256", "mime_type": "image/jpeg", "sha256": sha}}  # fmt: skip
    return wa_body({"contacts": [{"profile": {"name": "Marta Ruiz"}, "wa_id": WA_ID}],
                    "messages": [msg]}, "messages")  # fmt: skip


def photos(user) -> list[dict[str, Any]]:
    rows = [r for r in inbox(user) if r["platform"] == "whatsapp"]
    assert [r["external_conversation_id"] for r in rows] == [f"+{WA_ID}"]
    msgs = thread(user, rows[0]["id"])
    assert [m["content"] for m in msgs if m["type"] == "text"] == ["Os mando la foto de la talla"]
    return [m for m in msgs if m["type"] != "text"]


def test_the_export_describes_each_attachment(make_user, capsys, tmp_path):
    user = make_user("mediadesc")
    summary = wa_import(capsys, export_zip(tmp_path, wa_start()), user.id)
    assert summary["inserted"] == 2
    [photo] = photos(user)
    data = PHOTO.read_bytes()
    assert photo["type"] == "image" and photo["media_url"] == PHOTO.name
    assert {k: photo["metadata"][k] for k in ("sha256", "size", "mime_type", "filename", "zip_member")} == {
        "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "mime_type": "image/jpeg",
        "filename": PHOTO.name, "zip_member": PHOTO.name,
    }  # fmt: skip


def test_the_live_copy_of_the_same_file_is_the_same_message(
    make_user,
    service,
    http,
    functions_url,
    capsys,
    tmp_path,
):
    user = make_user("mediasame")
    conn = connection(
        service, user.id, "whatsapp", {"app_secret": APP_SECRET, "verify_token": "vt"}
    )
    start = wa_start()
    wa_import(capsys, export_zip(tmp_path, start), user.id)
    wa_send(http, functions_url, conn, [live_photo(start, PHOTO)])
    [photo] = photos(user)
    # the live copy (wamid, exact time) is kept and names the export copy and its file
    assert photo["id"] == "wamid.PHOTO"
    assert photo["media_url"] == PHOTO.name
    assert photo["metadata"]["matched"]["metadata"]["zip_member"] == PHOTO.name
    assert (
        photo["metadata"]["matched"]["metadata"]["sha256"]
        == hashlib.sha256(PHOTO.read_bytes()).hexdigest()
    )


def test_the_live_copy_first_then_the_export(
    make_user,
    service,
    http,
    functions_url,
    capsys,
    tmp_path,
):
    user = make_user("medialivefirst")
    conn = connection(
        service, user.id, "whatsapp", {"app_secret": APP_SECRET, "verify_token": "vt"}
    )
    start = wa_start()
    wa_send(http, functions_url, conn, [live_photo(start, PHOTO)])
    summary = wa_import(capsys, export_zip(tmp_path, start), user.id)
    assert (summary["inserted"], summary["matched"]) == (1, 1)
    [photo] = photos(user)
    assert photo["id"] == "wamid.PHOTO"


def test_another_file_in_the_same_minute_is_another_message(
    make_user,
    service,
    http,
    functions_url,
    capsys,
    tmp_path,
):
    user = make_user("mediaother")
    conn = connection(
        service, user.id, "whatsapp", {"app_secret": APP_SECRET, "verify_token": "vt"}
    )
    start = wa_start()
    wa_import(capsys, export_zip(tmp_path, start), user.id)
    wa_send(http, functions_url, conn, [live_photo(start, OTHER)])
    found = photos(user)
    assert sorted(m["id"] for m in found if m["id"].startswith("wamid.")) == ["wamid.PHOTO"]
    assert len(found) == 2
    assert all("matched" not in m["metadata"] for m in found)


def test_the_same_file_meets_whatever_the_captions_say(make_user):
    """The hash is a key beside the words: an export copy without the caption the live copy
    has (base64 hash live, hex in the export) is still the same photo."""
    user = make_user("mediacaption")
    digest = hashlib.sha256(PHOTO.read_bytes()).digest()
    at = wa_start() + timedelta(minutes=1)
    base = {"platform": "whatsapp", "external_conversation_id": f"+{WA_ID}",
            "participant_identifier": f"+{WA_ID}", "direction": "inbound", "type": "image"}  # fmt: skip
    ingest_as(user, [{**base, "id": "wa_export_photo", "content": None, "sent_at": at.isoformat(),
                      "media_url": PHOTO.name,
                      "metadata": {"id_source": "export", "time_precision": "minute",
                                   "sha256": digest.hex()}}])  # fmt: skip
    ingest_as(user, [{**base, "id": "wamid.CAPTION", "content": "la talla M",
                      "sent_at": (at + timedelta(seconds=20)).isoformat(),
                      "metadata": {"sha256": base64.urlsafe_b64encode(digest).decode()}}])  # fmt: skip
    rows = [r for r in inbox(user) if r["platform"] == "whatsapp"]
    msgs = thread(user, rows[0]["id"])
    assert [(m["id"], m["content"]) for m in msgs] == [("wamid.CAPTION", "la talla M")]
    assert msgs[0]["metadata"]["matched"]["id"] == "wa_export_photo"
