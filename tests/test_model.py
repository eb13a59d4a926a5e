"""Hypothesis: random batches (duplicates, shuffles, edits) against a simple model."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import BASE_TIME, check_invariants

ids = st.integers(min_value=0, max_value=40)
events = st.tuples(
    ids,
    st.integers(min_value=0, max_value=3),  # edit generation: 0 = never edited
)
batches = st.lists(st.lists(events, min_size=0, max_size=25), min_size=1, max_size=6)


def as_message(conv: str, i: int, gen: int) -> dict:
    m = {
        "platform": "signal",
        "external_conversation_id": conv,
        "id": f"h{i:02d}",
        "direction": "inbound" if i % 3 else "outbound",
        "content": f"text {i} v{gen}",
        # several messages share a timestamp, so ties are broken by id
        "sent_at": (BASE_TIME + timedelta(minutes=i // 3)).isoformat(),
    }
    if gen:
        m["edited_at"] = (BASE_TIME + timedelta(days=1, minutes=gen)).isoformat()
    return m


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=batches)
def test_store_matches_the_model(make_user, db, small_caps, batches):
    user = make_user("model")
    conv = "model"
    model: dict[str, int] = {}  # id -> newest edit generation seen
    cid = None
    for batch in batches:
        expected_inserted = len({i for i, _ in batch if f"h{i:02d}" not in model})
        out = (
            user.client.rpc(
                "ingest_messages",
                {"payload": {"messages": [as_message(conv, i, g) for i, g in batch]}},
            )
            .execute()
            .data
        )
        assert out["inserted"] == expected_inserted
        assert out["inserted"] + out["duplicates"] + out["updated"] == len(batch)
        for i, g in batch:
            key = f"h{i:02d}"
            model[key] = max(model.get(key, 0), g)
        if out["conversations"]:
            cid = out["conversations"][0]["id"]
    stored = check_invariants(db, cid) if cid else []
    assert {m["id"]: m["content"] for m in stored} == {
        k: f"text {int(k[1:])} v{g}" for k, g in model.items()
    }


# ----------------------------------------------------------------------------- export and live
#
# One direct WhatsApp chat of a few real messages (the same words in the same minute are
# twins), each seen live (id w<k>, the exact second) and in an export (id e<k>, the minute,
# metadata.id_source = export), sent in many calls: live calls of a few messages (a newer
# generation is an edit with edited_at and new words) and export calls of any part of the
# export, again and again, in any order and batch size. The model applies the contract's
# rules one message at a time; the store must end where the model does, ids, words and the
# export copy each live copy met (metadata.matched.id) included.

MINUTE_TEXTS = ("ok", "hi")


def _words(text: str, gen: int) -> str:
    return text if gen == 0 else f"{text} (edit {gen})"


real_messages = st.lists(
    st.tuples(
        st.integers(0, 1),  # minute
        st.sampled_from(MINUTE_TEXTS),
        st.integers(0, 59),  # the live copy's second
    ),
    min_size=1,
    max_size=8,
)


@st.composite
def calls(draw: st.DrawFn, n: int) -> list[tuple[str, list[tuple[int, int]]]]:
    k = st.integers(0, n - 1)
    live_call = st.tuples(
        st.just("live"), st.lists(st.tuples(k, st.integers(0, 2)), min_size=1, max_size=3)
    )
    export_call = st.tuples(
        st.just("export"), st.lists(st.tuples(k, st.just(0)), min_size=1, max_size=2 * n)
    )
    return draw(st.lists(st.one_of(live_call, export_call), min_size=1, max_size=12))


class ExportLiveModel:
    """The store's rules for export and live copies, one message at a time."""

    def __init__(self, chat: list[tuple[int, str, int]]) -> None:
        self.chat = chat
        self.live: dict[int, dict] = {}  # k -> {"gen", "paired": export id or None}
        self.exports: set[int] = set()  # export copies stored (met no live copy)

    def live_key(self, k: int) -> tuple:
        minute, _, second = self.chat[k]
        return (BASE_TIME + timedelta(minutes=minute, seconds=second), f"w{k}".encode())

    def export_key(self, k: int) -> tuple:
        minute, _, _ = self.chat[k]
        return (BASE_TIME + timedelta(minutes=minute, milliseconds=k), f"e{k}".encode())

    def live_words(self, k: int) -> str:
        return _words(self.chat[k][1], self.live[k]["gen"])

    def send_live(self, batch: list[tuple[int, int]]) -> int:
        newest: dict[int, int] = {}
        for k, gen in batch:
            newest[k] = max(newest.get(k, 0), gen)
        inserted = 0
        for k in sorted(newest, key=self.live_key):
            gen = newest[k]
            if k in self.live:
                self.live[k]["gen"] = max(self.live[k]["gen"], gen)  # an edit keeps the pairing
                continue
            minute, text, _ = self.chat[k]
            words = _words(text, gen)
            met = [j for j in sorted(self.exports, key=self.export_key)
                   if self.chat[j][0] == minute and self.chat[j][1] == words]  # fmt: skip
            if met:
                self.exports.discard(met[0])
                self.live[k] = {"gen": gen, "paired": f"e{met[0]}"}
            else:
                self.live[k] = {"gen": gen, "paired": None}
                inserted += 1
        return inserted

    def send_export(self, batch: list[tuple[int, int]]) -> int:
        inserted = 0
        paired = {v["paired"] for v in self.live.values()}
        for k in sorted({k for k, _ in batch}, key=self.export_key):
            if k in self.exports or f"e{k}" in paired:
                continue  # stored, or met a live copy before: a re-import
            minute, text, _ = self.chat[k]
            met = [j for j in sorted(self.live, key=self.live_key)
                   if self.live[j]["paired"] is None and self.chat[j][0] == minute
                   and self.live_words(j) == text]  # fmt: skip
            if met:
                self.live[met[0]]["paired"] = f"e{k}"
                paired.add(f"e{k}")
            else:
                self.exports.add(k)
                inserted += 1
        return inserted

    def expected(self) -> dict[str, tuple[str, str | None]]:
        out = {f"w{k}": (self.live_words(k), v["paired"]) for k, v in self.live.items()}
        out |= {f"e{k}": (self.chat[k][1], None) for k in self.exports}
        return out


def _as_wire(conv: str, chat: list[tuple[int, str, int]], kind: str, k: int, gen: int) -> dict:
    minute, text, second = chat[k]
    m = {"external_conversation_id": conv, "direction": "inbound", "content": _words(text, gen)}
    if kind == "live":
        at = BASE_TIME + timedelta(minutes=minute, seconds=second)
        m |= {"id": f"w{k}", "sent_at": at.isoformat()}
        if gen:
            m["edited_at"] = (BASE_TIME + timedelta(days=1, minutes=gen)).isoformat()
    else:
        at = BASE_TIME + timedelta(minutes=minute, milliseconds=k)  # the file's order
        m |= {"id": f"e{k}", "sent_at": at.isoformat(),
              "metadata": {"id_source": "export", "time_precision": "minute"}}  # fmt: skip
    return m


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), chat=real_messages, batch_paths=st.booleans())
def test_export_and_live_copies_across_calls_match_the_model(
    make_user, db, small_caps, data, chat, batch_paths
):
    """Twins, edits and re-imports in any order and batch size: every message once, every
    pairing made once and kept through edits, nothing lost, nothing brought back."""
    plan = data.draw(calls(len(chat)))
    user = make_user("pairs")
    conv = "+34600000001"
    model = ExportLiveModel(chat)
    strategy = ("ingest_few_messages", "ingest_unchanged_past_messages")
    old = dict(db.execute("select key, value from messaging_private.settings").fetchall())
    try:
        if batch_paths:  # the paths of large batches for every call
            for key in strategy:
                db.execute("update messaging_private.settings set value = 0 where key = %s", (key,))
        cid = None
        for kind, batch in plan:
            wire = [_as_wire(conv, chat, kind, k, gen) for k, gen in batch]
            expected = model.send_live(batch) if kind == "live" else model.send_export(batch)
            out = (
                user.client.rpc(
                    "ingest_messages", {"payload": {"platform": "whatsapp", "messages": wire}}
                )
                .execute()
                .data
            )
            assert out["inserted"] == expected, (kind, batch, out)
            cid = out["conversations"][0]["id"]
    finally:
        for key in strategy:
            db.execute(
                "update messaging_private.settings set value = %s where key = %s", (old[key], key)
            )
    stored = check_invariants(db, cid)
    got = {
        m["id"]: (m["content"], ((m.get("metadata") or {}).get("matched") or {}).get("id"))
        for m in stored
    }
    assert got == model.expected()
