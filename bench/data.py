"""A seeded generator of realistic chat messages: several languages, emoji, short and long.

Message lengths follow a skewed distribution like real chats (most a few words, a tail of
long paragraphs); vocabulary mixes Spanish, Portuguese, German, English and Chinese
so compression sees real variety rather than repeated filler.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

WORDS = {
    "es": "hola qué tal gracias pedido envío mañana precio cuánto cuesta vale perfecto entonces "
    "te mando la factura ahora mismo disculpa llegó ayer tarde semana próxima tienda".split(),
    "pt": "olá obrigado pedido entrega amanhã preço quanto custa certo perfeito então mando "
    "fatura agora desculpa chegou ontem tarde semana próxima loja pagamento".split(),
    "de": "hallo danke bestellung lieferung morgen preis wieviel kostet gut perfekt dann schicke "
    "rechnung jetzt entschuldigung angekommen gestern woche nächste laden zahlung".split(),
    "en": "hi thanks order delivery tomorrow price how much does it cost ok perfect then I will "
    "send the invoice now sorry arrived yesterday late next week shop payment".split(),
}
CHINESE = (
    "你好 谢谢 订单 发货 明天 价格 多少钱 好的 没问题 发票 现在 抱歉 昨天 下周 店铺 付款".split()
)
EMOJI = ["😀", "👍", "🙏", "❤️", "😂", "🎉", "📦", "✅"]
BASE = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _text(rng: random.Random, lang: str) -> str:
    n = max(1, int(rng.lognormvariate(1.6, 0.9)))  # median ~5 words, long tail
    if lang == "zh":
        return "".join(rng.choice(CHINESE) for _ in range(n)) + ("。" if rng.random() < 0.5 else "")
    words = [rng.choice(WORDS[lang]) for _ in range(n)]
    if rng.random() < 0.08:
        words.append(f"INV-{rng.randint(2020, 2026)}-{rng.randint(1, 9999):04d}")
    if rng.random() < 0.25:
        words.append(rng.choice(EMOJI))
    text = " ".join(words)
    return text[0].upper() + text[1:]


LANGUAGES = ["es", "pt", "de", "en", "en", "zh"]


def conversation(
    rng: random.Random, key: str, n: int, start: datetime = BASE, lang: str | None = None
) -> Iterator[dict[str, Any]]:
    """n messages of one conversation, oldest first, minutes to hours apart."""
    lang = lang or rng.choice(LANGUAGES)
    t = start
    for i in range(n):
        t += timedelta(seconds=int(rng.expovariate(1 / 1800)) + 1)
        media = rng.random() < 0.05
        yield {
            "platform": "whatsapp",
            "external_conversation_id": key,
            "id": f"{key}:{i:06d}",
            "direction": "outbound" if rng.random() < 0.45 else "inbound",
            "type": "image" if media else "text",
            "content": None if media and rng.random() < 0.5 else _text(rng, lang),
            "sent_at": t.isoformat(),
        }


def history(
    seed: int, conversations: int, per_conversation: int, prefix: str
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        m
        for c in range(conversations)
        for m in conversation(
            rng, f"{prefix}{c:05d}", per_conversation, BASE + timedelta(minutes=c)
        )
    ]


#: The scale curve's conversations: this many messages each, every language in turn.
CURVE_CONVERSATION = 1000


def curve_conversation(c: int) -> list[dict[str, Any]]:
    """Conversation c of the scale curve: the same messages on every run, whatever came before."""
    rng = random.Random(1_000_003 * 7 + c)
    return list(
        conversation(
            rng, f"S{c:06d}", CURVE_CONVERSATION, BASE + timedelta(minutes=c), LANGUAGES[c % 6]
        )
    )


#: The words the searches look for. A common word of the English conversations (a third of
#: them) and a word no generated message holds; the rare code is taken from the data.
COMMON_WORD = "order"
NO_MATCH = "quetzalcoatl"


def rare_code(messages: list[dict[str, Any]]) -> str:
    """An order code (INV-yyyy-nnnn) that occurs in these messages."""
    for m in messages:
        for word in (m["content"] or "").split():
            if word.startswith("INV-"):
                return word
    raise ValueError("no order code in these messages")
