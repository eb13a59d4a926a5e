"""No code decides anything by the words of an error.

The store names each refusal's kind in the error's `hint` (the contract's `refusals`), and
PostgREST, PostgreSQL and the network give codes; code branches on those. Rewording a
message must never change behaviour, so this greps the code that handles errors (the
Python package, devstack, bench, the edge function, the CRM screens; tests may assert on
wording, since a readable message is part of what they check) for tests of error text.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SOURCES = [
    *(REPO / "client").rglob("*.py"),
    *(REPO / "devstack").rglob("*.py"),
    *(REPO / "bench").rglob("*.py"),
    *(
        p
        for p in (REPO / "supabase" / "functions").rglob("*.ts")
        if not p.name.endswith("_test.ts") and p.name != "test_helpers.ts"
    ),
    *(REPO / "web" / "src").rglob("*.ts"),
    *(REPO / "web" / "src").rglob("*.tsx"),
]

TEXT = r"(?:message|details|args|reason|sqlerrm)"
PATTERNS = [
    # Python: err.message.startswith(...), "..." in err.message, err.message == ..., str(err)
    re.compile(rf"\.{TEXT}\b[^\n]*\.(?:startswith|endswith)\("),
    re.compile(rf"\bin\s+\w+(?:\.\w+)*\.{TEXT}\b"),
    re.compile(rf"\.{TEXT}\s*[!=]=(?!\s*None)"),
    re.compile(r"\bin\s+str\(\s*(?:e|err|exc|error)\s*\)"),
    re.compile(r"\bstr\(\s*(?:e|err|exc|error)\s*\)\.(?:startswith|endswith)\("),
    re.compile(rf"\bre\.(?:search|match|fullmatch)\([^\n]*\.{TEXT}\b"),
    # TypeScript: e.message.includes(...), .startsWith, .match, regex.test(e.message), ===
    re.compile(rf"\.{TEXT}\??\.(?:includes|startsWith|endsWith|match|search|indexOf)\("),
    re.compile(rf"\.test\([^)\n]*\.{TEXT}\b"),
    # a local copy of the text compared or searched
    re.compile(r"\b(?:message|errorText|errText)\s*[!=]==?\s*[\"'`]"),
    re.compile(r"\b(?:message|errorText|errText)\.(?:includes|startsWith|endsWith)\("),
    # the old prefix table of the client
    re.compile(r"STOPPING_PREFIXES"),
]

#: Lines allowed, with the reason. Keep this short: each is a decision by words.
ALLOWED = {
    # the browser's own fetch failure: supabase-js reports it as a TypeError text with no code
    # ... and its timeout (AbortSignal.timeout), whose name postgrest-js folds into the text:
    # read in one function, transportFailure
    ("web/src/lib/errors.ts", "/TimeoutError|signal timed out/.test(message)"),
    ("web/src/lib/errors.ts", "/Failed to fetch|NetworkError|Load failed/.test(message)"),
}


def branches_on_wording(path: Path) -> list[str]:
    rel = path.relative_to(REPO).as_posix()
    found = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        code = line.split("//")[0] if path.suffix in {".ts", ".tsx"} else line.split("#")[0]
        code = re.sub(r"\btypeof\s+[\w.?]+", "typeof_x", code)  # a type test reads no words
        if any(p.search(code) for p in PATTERNS) and not any(
            rel == f and allowed in line for f, allowed in ALLOWED
        ):
            found.append(f"{rel}:{n}: {line.strip()}")
    return found


def test_no_code_branches_on_error_wording():
    assert SOURCES, "no sources found"
    found = [hit for path in SOURCES for hit in branches_on_wording(path)]
    assert not found, "branching on an error's words (use its code or kind):\n" + "\n".join(found)


def test_the_grep_finds_what_it_is_meant_to(tmp_path, monkeypatch):
    # each way of branching on words this test exists to catch, in both languages
    monkeypatch.setattr(
        "tests.test_no_wording_branches.REPO", tmp_path
    )  # relative paths of the probes
    samples = {
        "a.py": [
            'if err.message.startswith(("user_id:", "payload:")):',
            'if "no connection" in err.message:',
            'stop = err.code == "42501" and not err.message.startswith("person_id:")',
            'if "timeout" in str(exc):',
            'if re.search("deadlock", err.message):',
        ],
        "b.ts": [
            'if (err.message.includes("connection_id: no connection")) return 404;',
            'if (res.error?.message.startsWith("user_id")) cache.delete(id);',
            "if (/no connection/.test(err.message)) return 404;",
            'if (e.message === "gone") return;',
        ],
    }
    for name, lines in samples.items():
        for line in lines:
            probe = tmp_path / name
            probe.write_text(line + "\n")
            assert branches_on_wording(probe), line
    clean = tmp_path / "c.ts"
    clean.write_text(
        'if (err.kind === "connection_unknown") return 404;\n'
        "const text = `${what}: ${res.error?.message}`;\n"
        'if (res.error.hint === "connection_unknown") cache.delete(id);\n'
    )
    assert not branches_on_wording(clean)
