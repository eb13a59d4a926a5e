"""Where the local stack lives: the checkout's paths, the state directory, the ports.

CRM_STACK_PORT_OFFSET moves every port (say 100 -> 54421, 54422, ...), so several work
trees can each run a stack of their own beside the default one (with its own CRM_STACK_DIR).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: The checkout this tool belongs to (devstack/ sits at its root).
REPO_ROOT = Path(__file__).resolve().parent.parent

PORT_OFFSET = int(os.environ.get("CRM_STACK_PORT_OFFSET", "0"))
API_PORT = 54321 + PORT_OFFSET
DB_PORT = 54322 + PORT_OFFSET
POSTGREST_PORT = 54330 + PORT_OFFSET
POSTGREST_ADMIN_PORT = 54331 + PORT_OFFSET
FUNCTIONS_PORT = 54332 + PORT_OFFSET
WEB_PORT = 54340 + PORT_OFFSET
DB_PASSWORD = "postgres"


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.root / "log"

    def log(self, part: str) -> Path:
        return self.logs / f"{part}.log"

    def pid(self, part: str) -> Path:
        return self.run / f"{part}.pid"


def state_dir() -> Path:
    """Where the stack keeps its data and logs: outside the work tree."""
    return Path(os.environ.get("CRM_STACK_DIR", "/var/tmp/crm-messaging-stack"))


def db_url(user: str = "postgres") -> str:
    return f"postgresql://{user}:{DB_PASSWORD}@127.0.0.1:{DB_PORT}/postgres"


def cli_db_url() -> str:
    """The database URL for the Supabase CLI's `--remote` / `--db-url` flags.

    The CLI treats 127.0.0.1 with the port of config.toml's [db] as the Docker database
    of `supabase start` and asks Docker for it; 127.0.0.2 reaches the same server
    without that detour.
    """
    return f"postgresql://postgres:{DB_PASSWORD}@127.0.0.2:{DB_PORT}/postgres?sslmode=disable"


def api_url() -> str:
    return f"http://127.0.0.1:{API_PORT}"


def web_url() -> str:
    return f"http://127.0.0.1:{WEB_PORT}"
