"""The words of WhatsApp exports in the languages the importer reads.

English, German, Spanish, Portuguese, French, Italian, Dutch, Russian, Turkish,
Indonesian, Czech, Ukrainian, Hindi, Japanese, Thai, Arabic and Vietnamese: media
placeholders (the exact ones per language in whatsapp_placeholders), attachment lines,
deleted and edited markers, system notices (encryption banners, group events) and the
export's file name.
"""

from __future__ import annotations

import re

from . import whatsapp_placeholders as placeholders

_OMITTED = (
    r"omitted|omitid[oa]s?|ocultad[oa]s?|oculta|omis(?:es?)?|omess[oa]|omessi|absente?|"
    r"weggelaten|weggelassen|ausgeschlossen|отсутству\w*|не включ\w*|dahil edilmedi|"
    r"tidak disertakan|dihilangkan|esclus[ao]|non inclus[ao]|atlanmış|пропущен\w*"
)

#: "<Media omitted>" and friends: a media message whose file the export left out
MEDIA_OMITTED = re.compile(
    r"^<?(Media omitted|Medien ausgeschlossen|Medien weggelassen|Multimedia omitido|"
    r"Archivo omitido|Mídia oculta|Mídia omitida|Arquivo de mídia oculto|ficheiro não revelado|"
    r"Médias omis|Fichier omis|Media omessi|Media omesso|Media weggelaten|Без медиафайлов|"
    r"Файл пропущен|Медиафайл отсутствует|Medya dahil edilmedi|Medya atlanmış|Medya atlandı|"
    r"Media tidak disertakan)>?$",
    re.I,
)

_NOUNS: list[tuple[str, str]] = [
    ("image", r"image|imagen|imagem|Bild|photo|foto|immagine|afbeelding|изображение|фото|"
              r"görüntü|fotoğraf|gambar"),
    ("video", r"video|vídeo|vidéo|видео|GIF"),
    ("audio", r"audio|áudio|Audio|аудио\w*|ses|ses kaydı"),
    ("sticker", r"sticker|figurinha|autocollant|стикер|çıkartma|stiker"),
    ("document", r"document|documento|Dokument|документ|belge|dokumen"),
    ("contact", r"Contact card|Kontaktkarte|tarjeta de contacto|cartão de contato|"
                r"carte de contact|scheda contatto|contactkaart|карточка контакта|kişi kartı|"
                r"kartu kontak"),
]  # fmt: skip

#: "image omitted", "imagen omitida", "изображение отсутствует", ... -> message type
MEDIA_KIND: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"^<?({nouns}) ({_OMITTED})>?$", re.I), kind) for kind, nouns in _NOUNS
]

#: older iOS `2015-08-04-PHOTO-00004762.jpg <attached>`, iOS `<attached: file>` (also with
#: spaces inside, and after the file's name and pages: `Offer.pdf • 2 pages <attached:
#: 00000047-Offer.pdf>`), Android `file.jpg (file attached)` in every language
_ATTACHED_WORD = (
    r"attached|anexado|adjunto|allegato|pièce jointe|bijlage|angehängt|Anhang|"
    r"прикреплено|ek|lampiran"
)
ATTACHED = re.compile(
    rf"^(?:(?P<name>[^<‹]+?)\s+)?[<‹]\s*(?:{_ATTACHED_WORD})\s?:\s*(?P<file>[^>›]+?)\s*[>›]$"
    rf"|^(?P<file2>\S+\.\w{{2,5}})\s*[<‹]\s*(?:{_ATTACHED_WORD})\s*[>›]$"
    r"|^(?P<file3>[^()]+?\.\w{2,5}) \((?:file attached|Datei angehängt|archivo adjunto|"
    r"arquivo anexado|fichier joint|file allegato|bestand bijgevoegd|файл прикреплен|"
    r"файл прикреплён|файл добавлен|dosya ekli|file terlampir|soubor byl přiložen)\)$",
    re.I,
)

LOCATION = re.compile(
    r"^(location|Standort|ubicación|localização|localisation|position|posizione|locatie|"
    r"местоположение|геопозиция|konum|lokasi|poloha|розташування|लोकेशन|位置情報|"
    r"ตำแหน่งที่ตั้ง|موقع|vị trí): (https?://\S+)$",
    re.I,
)

DELETED = re.compile(
    r"^<?(?:[\U0001F6AB\u2298\u20e0]\s*)?(This message was deleted(?: by (?:an )?admin\b.*)?|You deleted this message|"
    r"Diese Nachricht wurde gelöscht|Du hast diese Nachricht gelöscht|"
    r"Se eliminó este mensaje|Eliminaste este mensaje|Este mensaje fue eliminado|"
    r"Mensagem apagada|Esta mensagem foi apagada|Você apagou esta mensagem|"
    r"Ce message a été supprimé|Vous avez supprimé ce message|"
    r"Questo messaggio è stato eliminato|Hai eliminato questo messaggio|"
    r"Dit bericht is verwijderd|Je hebt dit bericht verwijderd|"
    r"Данное сообщение удалено|Это сообщение удалено|Вы удалили это сообщение|"
    r"Bu mesaj silindi|Bu mesajı sildiniz|"
    r"Pesan ini telah dihapus|Anda menghapus pesan ini)\.?>?$",
    re.I,
)

EDITED = re.compile(
    r"\s*<(This message was edited|Diese Nachricht wurde bearbeitet|Se editó este mensaje|"
    r"Este mensaje fue editado|Mensagem editada|Esta mensagem foi editada|"
    r"Ce message a été modifié|Message modifié|Questo messaggio è stato modificato|"
    r"Dit bericht is bewerkt|Сообщение изменено|Это сообщение изменено|"
    r"Bu mesaj düzenlendi|Pesan ini diedit|Pesan diedit)\.?>$",
    re.I,
)

#: the end-to-end encryption banner, in any of the languages: how it starts, then two words
_E2E_START = re.compile(
    r"(?:Messages|Nachrichten|Los mensajes|As mensagens|Les messages|I messaggi|Berichten|"
    r"Сообщения|Mesajlar|Pesan|Zprávy|Повідомлення|Tin nhắn)\b"
    r"|मैसेजेस|メッセージと通話|ข้อความและการโทร|الرسائل والمكالمات",
    re.I,
)
_E2E_SCOPE = re.compile(
    r"end-to-end|Ende-zu-Ende|extremo a extremo|ponta a ponta|ponto a ponto|bout en bout|"
    r"сквозн\w+|наскрізн\w+|uçtan uca|koncov\w+|đầu cuối|एंड-टू-एंड|エンドツーエンド|"
    r"ต้นทางถึงปลายทาง|بين الطرفين",
    re.I,
)
_E2E_WORD = re.compile(
    r"encrypt|verschlüssel|cifrad|criptograf|encriptad|chiffr|crittograf|versleutel|"
    r"шифрован|шифрув|şifrel|terenkripsi|enkripsi|secured|šifrováním|mã hóa|एन्क्रिप्ट|暗号化|"
    r"เข้ารหัส|مشفرة",
    re.I,
)

#: group events and other notices WhatsApp writes as lines of their own
_NOTICES = re.compile(
    "|".join(
        [
            # created
            r"created (?:the )?group|created this group|hat (?:die )?Gruppe .+ erstellt|"
            r"creó (?:el )?grupo|criou (?:o )?grupo|a créé (?:le )?groupe|ha creato (?:il )?gruppo|"
            r"heeft (?:de )?groep .+ aangemaakt|создал\S* групп|grubunu oluşturdu|membuat grup",
            # added, removed, left, joined
            r"^(?:\S+ ){0,4}(?:added|removed|left|joined using this group's invite link)\b|"
            r"hat .+ hinzugefügt|hat .+ entfernt|hat die Gruppe verlassen|"
            r"añadió a|eliminó a|salió del grupo|se unió usando el enlace|"
            r"adicionou|removeu|saiu do grupo|entrou usando o link|"
            r"a ajouté|a retiré|est parti|a quitté|"
            r"ha aggiunto|ha rimosso|è uscito|ha abbandonato|"
            r"heeft .+ toegevoegd|heeft .+ verwijderd|heeft de groep verlaten|is vertrokken|"
            r"добавил\w*|удалил\w* .+ из групп|покинул\w*|вышел\w* из групп|"
            r"ekledi|çıkardı|gruptan ayrıldı|ayrıldı|"
            r"menambahkan|mengeluarkan|keluar",
            # subject, icon, description, security code
            r"changed the (?:subject|group name|group description|group's icon|group icon)|"
            r"changed this group's (?:icon|settings|description)|deleted this group's icon|"
            r"security code (?:with .+ )?changed|"
            r"hat den Betreff|hat das Gruppenbild|Sicherheitsnummer|"
            r"cambió el (?:asunto|nombre|ícono|icono)|código de seguridad|"
            r"mudou o (?:assunto|nome|ícone)|alterou o (?:assunto|nome|ícone)|"
            r"a modifié le (?:sujet|nom|icône)|code de sécurité|"
            r"ha cambiato (?:l'oggetto|il nome|l'immagine)|codice di sicurezza|"
            r"heeft de (?:groepsnaam|onderwerp|groepsafbeelding) gewijzigd|beveiligingscode|"
            r"изменил\w* (?:тему|название|изображение)|код безопасности|"
            r"konuyu değiştirdi|grup adını değiştirdi|güvenlik kodu|"
            r"mengubah (?:subjek|nama grup|ikon)|kode keamanan",
        ]
    ),
    re.I,
)


def is_banner(text: str) -> bool:
    """The end-to-end encryption banner, whoever's name the export put in front of it."""
    return (
        "\n" not in text
        and len(text) <= 300
        and bool(_E2E_START.match(text) and _E2E_SCOPE.search(text) and _E2E_WORD.search(text))
    )


def is_named_notice(text: str, *, marked: bool, by_title: bool) -> bool:
    """A notice iOS writes under the chat's or the group's name (`Family: ‎Ana created group`).

    iOS starts such a body with U+200E (`marked`); it does that for media lines as well, so
    those are classified before this is asked. A marked line is a notice when it names a group
    event, or when it stands under the chat's own name (`by_title`).
    """
    if "\n" in text or len(text) > 300:
        return False
    if is_banner(text):
        return True
    return marked and (by_title or bool(_NOTICES.search(text)))


#: "WhatsApp Chat with X", "WhatsApp Chat - X" (iOS), and the translated file names
FILE_NAME = re.compile(
    r"^(?:WhatsApp[- ](?:Chat|chat|Unterhaltung)|Chat de WhatsApp|Conversa do WhatsApp|"
    r"Conversa no WhatsApp|Discussion WhatsApp|Chat WhatsApp|Чат WhatsApp|WhatsApp)"
    r"\s*(?:-|with|mit|con|com|avec|met|с контактом|с|dengan)\s+(?P<name>.+?)"
    r"(?: \(\d+\))?(?:\.txt|\.zip)?$"
    r"|^(?P<name2>.+?) ile WhatsApp Sohbeti(?:\.txt|\.zip)?$",
    re.I,
)


#: the markers above in English; any other match is another language's (all D/M/Y locales)
_ENGLISH = re.compile(
    r"Media omitted|\w+ omitted|attached|file attached|This message was deleted|"
    r"You deleted this message|This message was edited|Messages and calls|created group|"
    r"\badded\b|\bleft\b|\bremoved\b|changed the|security code",
    re.I,
)
_LANGUAGE_OF = [
    (
        "German",
        r"gelöscht|bearbeitet|ausgeschlossen|weggelassen|angehängt|Anhang|Nachrichten|Gruppe",
    ),
    ("Spanish", r"mensaje|omitid|adjunto|eliminó|grupo"),
    ("Portuguese", r"mensagem|oculta|anexado|apagad"),
    ("French", r"message a été|omis|pièce jointe|joint|groupe"),
    ("Italian", r"messaggio|omess|allegato|gruppo"),
    ("Dutch", r"bericht|weggelaten|bijlage|groep"),
    ("Ukrainian", r"[іїєґ]"),
    ("Russian", r"[а-яё]{3,}"),
    ("Czech", r"zpráv|šifrov|vynech"),
    ("Vietnamese", r"tin nhắn|bỏ qua"),
    ("Hindi", r"[\u0900-\u097f]"),
    ("Thai", r"[\u0e00-\u0e7f]"),
    ("Arabic", r"[\u0600-\u06ff]"),
    ("Turkish", r"mesaj|dahil edilmedi|ekli|grubu"),
    ("Indonesian", r"pesan|disertakan|lampiran|grup"),
]


def foreign_marker(text: str, *, notice: bool) -> str | None:
    """The language of a placeholder, marker or (for a `notice`, a line without sender) a
    notice that is not English, else None. What people write is never evidence."""
    first = text.split("\n", 1)[0].strip()
    if len(first) > 300 or not first:
        return None
    found = placeholders.find(first)
    if found is not None:
        return found.language if found.language in placeholders.DAY_MONTH_LANGUAGES else None
    known = (
        MEDIA_OMITTED.match(first) or ATTACHED.match(first) or DELETED.match(first)
        or EDITED.search(first) or any(p.match(first) for p, _ in MEDIA_KIND)
        or (notice and (is_banner(first) or _NOTICES.search(first)))
    )  # fmt: skip
    if not known or _ENGLISH.search(first):
        return None
    return next((name for name, pat in _LANGUAGE_OF if re.search(pat, first, re.I)), None)
