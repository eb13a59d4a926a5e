"""The package as a user installs it: the wheel built from this tree, installed into a fresh
virtual environment, run from a directory with no .env and no stack."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import venv
import zipfile
from pathlib import Path

import pytest

from devstack.layout import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
SAMPLES = [
    ("whatsapp", "WhatsApp Chat with +34 612 34 56 78.txt",
     ["--me", "Alice", "--tz", "Europe/Madrid", "--region", "ES"], 8),
    ("telegram", "telegram_result.json", ["--me", "Alice Admin"], 4),
    ("signal", "signal-receive.jsonl", [], 3),
    ("wechat", "wechat_liwei.csv", [], 5),
]  # fmt: skip
STACK_NAMES = {
    "API_URL", "SUPABASE_URL", "ANON_KEY", "SUPABASE_ANON_KEY", "SERVICE_ROLE_KEY",
    "SUPABASE_SERVICE_ROLE_KEY", "JWT_SECRET", "SUPABASE_JWT_SECRET", "DB_URL", "SUPABASE_DB_URL",
    "CRM_ENV_FILE", "PYTHONPATH", "VIRTUAL_ENV",
}  # fmt: skip


def _run(*cmd: str | Path, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in STACK_NAMES}
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{cmd} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ of a fresh venv holding only the wheel and its declared dependencies."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"  # a copy, so the build leaves nothing in the work tree
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, src / name)
    shutil.copytree(
        REPO_ROOT / "client", src / "client", ignore=shutil.ignore_patterns("__pycache__")
    )
    # a checkout's developer tool beside it must not end up in the wheel
    shutil.copytree(
        REPO_ROOT / "devstack", src / "devstack", ignore=shutil.ignore_patterns("__pycache__")
    )
    venv.EnvBuilder(with_pip=True, clear=True).create(root / "venv")
    bin_dir = root / "venv" / "bin"
    py = bin_dir / "python"
    # -v: the build backend's own output, kept for test_the_build_prints_no_deprecation
    built = _run(py, "-m", "pip", "wheel", "-v", "--no-deps", "-w", root / "dist", src, cwd=root)
    (root / "build.log").write_text(built.stdout + built.stderr)
    (wheel,) = (root / "dist").glob("crm_messaging-*.whl")
    _run(py, "-m", "pip", "install", "-q", wheel, cwd=root)
    return bin_dir


@pytest.fixture(scope="module")
def wheel_files(installed: Path) -> list[str]:
    """The names inside the wheel the fixture above built."""
    (wheel,) = (installed.parent.parent / "dist").glob("crm_messaging-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory outside the repository, with no .env."""
    assert not (tmp_path / ".env").exists()
    return tmp_path


def test_the_build_prints_no_deprecation(installed: Path, wheel_files: list[str]):
    # setuptools deprecated the table form `license = { text = ... }`: an SPDX expression
    log = (installed.parent.parent / "build.log").read_text()
    assert "project.license" not in log and "SetuptoolsDeprecationWarning" not in log, log[-2000:]
    (wheel,) = (installed.parent.parent / "dist").glob("crm_messaging-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        (meta,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        assert "License-Expression: MIT" in zf.read(meta).decode().splitlines()


def test_the_wheel_holds_every_module(installed: Path, elsewhere: Path):
    done = _run(
        installed / "python", "-c",
        "import crm_messaging, crm_messaging.importers.whatsapp as w; "
        "from crm_messaging import MessagingClient, ExportFormatError; "
        "print(crm_messaging.__file__); print(MessagingClient.__name__)",
        cwd=elsewhere,
    )  # fmt: skip
    where, name = done.stdout.split()
    assert Path(where).is_relative_to(installed.parent)  # the wheel's copy, not this tree
    assert name == "MessagingClient"


def test_help_runs(installed: Path, elsewhere: Path):
    done = _run(installed / "crm-messaging", "--help", cwd=elsewhere)
    assert "import" in done.stdout and done.stderr == ""
    done = _run(installed / "crm-messaging", "import", "--help", cwd=elsewhere)
    assert "--date-order" in done.stdout and "--participant" in done.stdout


@pytest.mark.parametrize("platform, name, extra, count", SAMPLES, ids=[s[0] for s in SAMPLES])
def test_dry_run_of_each_sample_export(installed, elsewhere, platform, name, extra, count):
    done = _run(
        installed / "crm-messaging", "import", platform, EXAMPLES / name, *extra,
        "--dry-run", "--json", cwd=elsewhere,
    )  # fmt: skip
    result = json.loads(done.stdout)
    # WhatsApp says how it read the date order (which rule decided)
    assert platform != "whatsapp" or result.pop("notes")[0].startswith("date order D/M/Y: ")
    assert result == {"dry_run": True, "messages": count, "conversations": 1}


def test_an_import_without_env_is_a_sentence(installed: Path, elsewhere: Path):
    done = _run(
        installed / "crm-messaging", "import", "signal", EXAMPLES / "signal-receive.jsonl",
        cwd=elsewhere, check=False,
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("crm-messaging: no Supabase project configured")


def test_the_wheel_holds_the_package_and_no_developer_tooling(wheel_files: list[str]):
    top = {f.split("/")[0] for f in wheel_files if ".dist-info/" not in f}
    assert top == {"crm_messaging"}, top
    assert "crm_messaging/reads.py" in wheel_files and "crm_messaging/py.typed" in wheel_files
    assert not [f for f in wheel_files if f.endswith(("stack.py", "tokens.py"))]


def test_a_client_needs_only_the_url_and_a_key(installed: Path, elsewhere: Path):
    probe = (
        "from crm_messaging import MessagingClient; "
        "c = MessagingClient.from_env(); print(c.supabase.rest_url)"
    )
    env = {k: v for k, v in os.environ.items() if k not in STACK_NAMES}
    env |= {"API_URL": "http://127.0.0.1:9", "SERVICE_ROLE_KEY": "a-key"}
    done = subprocess.run(
        [str(installed / "python"), "-c", probe], cwd=elsewhere, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "http://127.0.0.1:9/rest/v1"


def test_the_stack_outside_a_checkout_is_one_sentence(installed: Path, elsewhere: Path):
    done = _run(installed / "crm-messaging", "stack", "up", cwd=elsewhere, check=False)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("crm-messaging: the local stack is a developer tool of a")
    assert done.stderr.count("\n") == 1
