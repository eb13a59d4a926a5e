"""The placeholders and tombstones WhatsApp writes in an export, per language and phone.

One table per language: the exact words WhatsApp for iOS and for Android put where a
media file was left out of the export, and where a message was deleted (by its sender, or
by you). Each was read in a real export of that language (tests/fixtures/whatsapp/lang,
sources in tests/fixtures/SOURCES.md), except where a comment names another source.
A message body is looked up whole (case, the `<>` around it, a final full stop and the
marks aside), so each line costs one dictionary look-up whatever the number of languages.
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

#: kinds: a message type, "other" (media of unknown kind) or "deleted" (a tombstone)
_TABLES: dict[str, dict[str, str]] = {
    "English": {
        "Media omitted": "other",
        "image omitted": "image", "video omitted": "video", "audio omitted": "audio",
        "GIF omitted": "video", "sticker omitted": "sticker", "document omitted": "document",
        "Contact card omitted": "contact",
        "This message was deleted": "deleted", "You deleted this message": "deleted",
    },
    "Portuguese": {  # Portugal, iOS
        "imagem não revelada": "image", "vídeo não revelado": "video",
        "ficheiro de áudio não revelado": "audio", "GIF não revelada": "video",
        "sticker não revelado": "sticker", "documento não revelado": "document",
        "Contacto não revelado": "contact",
        "Esta mensagem foi apagada": "deleted", "Apagou esta mensagem": "deleted",
    },
    "Russian": {
        "Без медиафайлов": "other",
        "изображение отсутствует": "image", "видео отсутствует": "video",
        "аудиофайл отсутствует": "audio", "GIF отсутствует": "video",
        "стикер не добавлен": "sticker", "документ отсутствует": "document",
        "Карточка контакта отсутствует": "contact",
        "Данное сообщение удалено": "deleted", "Вы удалили данное сообщение": "deleted",
    },
    "German": {
        "Bild weggelassen": "image", "Video weggelassen": "video",
        "Audio weggelassen": "audio", "GIF weggelassen": "video",
        "Sticker weggelassen": "sticker", "Dokument weggelassen": "document",
        "Kontaktkarte ausgelassen": "contact",
        "Diese Nachricht wurde gelöscht": "deleted", "Du hast diese Nachricht gelöscht": "deleted",
    },
    "French": {
        "image absente": "image", "vidéo absente": "video", "audio omis": "audio",
        "GIF retiré": "video", "sticker omis": "sticker", "document manquant": "document",
        "Fiche contact manquante": "contact",
        "Ce message a été supprimé": "deleted", "Vous avez supprimé ce message": "deleted",
    },
    "Italian": {
        "immagine omessa": "image", "video omesso": "video", "audio omesso": "audio",
        "GIF esclusa": "video", "sticker non incluso": "sticker",
        "documento omesso": "document", "Scheda contatto omessa": "contact",
        "Questo messaggio è stato eliminato": "deleted",
        "Hai eliminato questo messaggio": "deleted",
    },
    "Spanish": {
        "imagen omitida": "image", "Video omitido": "video", "audio omitido": "audio",
        "GIF omitido": "video", "sticker omitido": "sticker", "documento omitido": "document",
        "Tarjeta de contacto omitida": "contact",
        "Se eliminó este mensaje": "deleted", "Eliminaste este mensaje": "deleted",
    },
    "Indonesian": {
        "gambar tidak disertakan": "image", "video tidak disertakan": "video",
        "audio tidak disertakan": "audio", "GIF tidak disertakan": "video",
        "stiker tidak disertakan": "sticker", "dokumen tidak disertakan": "document",
        "Kartu kontak tidak disertakan": "contact",
        "Pesan ini dihapus": "deleted", "Anda menghapus pesan ini": "deleted",
    },
    "Dutch": {  # Android
        "Media weggelaten": "other",
        "Dit bericht is verwijderd": "deleted", "U hebt dit bericht verwijderd": "deleted",
    },
    "Czech": {
        "Média vynechány": "other",  # Android
        "obrázek vynechán": "image", "video vynecháno": "video",
        "zvukový soubor vynechán": "audio", "GIF vynechán": "video",
        "nálepka vynechána": "sticker", "dokument vynechán": "document",
        "Vizitka vynechána": "contact",
        "Tato zpráva byla smazána": "deleted", "Tuto zprávu jste smazal/a": "deleted",  # iOS
        "Tato zpráva byla odstraněna": "deleted",  # Android
        "Tuto zprávu jste odstranil/a": "deleted",
    },
    "Ukrainian": {
        "зображення відсутнє": "image", "відео відсутнє": "video", "аудіо відсутнє": "audio",
        "GIF-анімацію пропущено": "video", "Наклейку не додано": "sticker",
        "документ пропущено": "document", "Картка контакту відсутня": "contact",
        "Це повідомлення було видалено": "deleted", "Ви видалили це повідомлення": "deleted",
    },
    "Hindi": {
        "फ़ोटो हटाई गई": "image", "वीडियो छोड़ा गया": "video", "ऑडियो हटाई गयी": "audio",
        "GIF छोड़ा गया": "video", "स्टिकर छोड़ा गया": "sticker",
        "डॉक्यूमेंट छोड़ा गया": "document", "कॉन्टैक्ट कार्ड छोड़ा गया": "contact",
        "यह मैसेज डिलीट कर दिया गया है": "deleted", "आपने यह मैसेज डिलीट किया": "deleted",
    },
    "Japanese": {
        "画像は含まれていません": "image", "ビデオは含まれていません": "video",
        "音声は含まれていません": "audio", "GIFは含まれていません": "video",
        "スタンプは含まれていません": "sticker", "ドキュメントは含まれていません": "document",
        "連絡先カードを省略": "contact",
        "このメッセージは削除されました": "deleted", "このメッセージを削除しました": "deleted",
    },
    "Thai": {
        "ไม่มีรูปภาพ": "image", "วิดีโอถูกลบ": "video", "ไม่มีไฟล์เสียง": "audio",
        "ละเว้น GIF": "video", "ไม่มีสติกเกอร์": "sticker", "ละเว้นเอกสาร": "document",
        "บัตรรายชื่อที่ละเว้น": "contact",
        "ข้อความนี้ถูกลบแล้ว": "deleted", "คุณได้ลบข้อความนี้": "deleted",
    },
    "Arabic": {
        "لم يتم إدراج الصورة": "image", "لم يتم إدراج الفيديوهات": "video",
        "لم يتم إدراج المقاطع الصوتية": "audio", "لم يتم إدراج صورة GIF": "video",
        "تم حذف الملصقات": "sticker", "لم يتم إدراج المستند": "document",
        "لم يتم إدراج بطاقة جهة اتصال": "contact",
        "تم حذف هذه الرسالة": "deleted", "أنت حذفت هذه الرسالة": "deleted",
        "لقد حذَفت هذه الرسالة": "deleted",
    },
    "Vietnamese": {
        "đã bỏ qua hình ảnh": "image", "đã bỏ video": "video", "bỏ qua tệp âm thanh": "audio",
        "Đã bỏ qua ảnh GIF": "video", "đã bỏ sticker": "sticker",
        "đã bỏ qua tài liệu": "document", "Bỏ qua thẻ liên lạc": "contact",
        "Tin nhắn này đã bị xóa": "deleted", "Bạn đã xoá tin nhắn này": "deleted",
    },
}  # fmt: skip

#: the languages whose locales write day/month/year (evidence of the date order; Japanese
#: writes year/month/day, so its words say nothing about D/M against M/D)
DAY_MONTH_LANGUAGES = frozenset(_TABLES) - {"English", "Japanese"}

#: the longest placeholder (in characters): a longer body is never looked up
_LONGEST = 60


def key(text: str) -> str:
    """How a body is looked up: NFC, case folded, without `<>`, the 🚫 WhatsApp Web puts in
    front and a final full stop (iOS writes `This message was deleted.`, Android without)."""
    s = text.strip()
    if s[:1] in "<‹" and s[-1:] in ">›":
        s = s[1:-1].strip()
    s = s.lstrip("\U0001f6ab\u2298\u20e0 ").rstrip(".。 ")
    return unicodedata.normalize("NFC", s).casefold()


class Placeholder(NamedTuple):
    """What a placeholder or tombstone says: its kind, its language and (for a document
    iOS names) the file's name."""

    kind: str
    language: str
    filename: str | None = None


#: key -> what it says
PLACEHOLDERS: dict[str, Placeholder] = {
    key(words): Placeholder(kind, language)
    for language, table in _TABLES.items()
    for words, kind in table.items()
}
#: the document placeholders: iOS writes the file's name (and its pages) in front of them
DOCUMENT_ENDINGS: tuple[str, ...] = tuple(
    k for k, found in PLACEHOLDERS.items() if found.kind == "document"
)


def lookup(text: str) -> Placeholder | None:
    """What the body says when it is one of WhatsApp's placeholders or tombstones."""
    if len(text) > _LONGEST + 8:
        return None
    return PLACEHOLDERS.get(key(text))


def named_document(first: str) -> Placeholder | None:
    """iOS's `Offer.pdf • 2 pages document omitted`: a document the export left out, named
    as the phone shows it."""
    if len(first) > 400 or "." not in first:
        return None
    original = unicodedata.normalize("NFC", first.rstrip())
    low = original.casefold()
    if not low.endswith(DOCUMENT_ENDINGS):
        return None
    ending = next(e for e in DOCUMENT_ENDINGS if low.endswith(e))
    # the name as written, unless folding changed the length (then folded, still the name)
    name = (original if len(low) == len(original) else low)[: len(low) - len(ending)]
    name = name.split(" • ", 1)[0].strip()
    if not name or "." not in name:
        return None
    return Placeholder("document", PLACEHOLDERS[ending].language, name)


def find(first: str) -> Placeholder | None:
    """A placeholder or tombstone, alone or (a document) after the file's name."""
    return lookup(first) or named_document(first)
