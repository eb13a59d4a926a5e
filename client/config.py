"""Connection settings of a Supabase stack, read from the environment and `.env`.

The names are the ones `supabase status -o env` prints (API_URL, ANON_KEY, ...), with
the SUPABASE_* spellings accepted too, so the same code runs against the native stack
of this repository or a `supabase start` stack.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

#: The repository root (client/ is the package directory of an editable install).
REPO_ROOT = Path(__file__).resolve().parent.parent

#: The JWT secret every `supabase start` stack uses out of the box.
LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"

_NAMES = {
    "api_url": ("API_URL", "SUPABASE_URL"),
    "anon_key": ("ANON_KEY", "SUPABASE_ANON_KEY"),
    "service_role_key": ("SERVICE_ROLE_KEY", "SUPABASE_SERVICE_ROLE_KEY"),
    "jwt_secret": ("JWT_SECRET", "SUPABASE_JWT_SECRET"),
    "db_url": ("DB_URL", "SUPABASE_DB_URL"),
}


class SettingsError(RuntimeError):
    """The environment does not name a usable stack."""


@dataclass(frozen=True)
class Settings:
    api_url: str
    anon_key: str
    service_role_key: str
    jwt_secret: str
    db_url: str


def env_file_path() -> Path:
    """The `.env` to read: $CRM_ENV_FILE, else ./.env, else the repository's."""
    explicit = os.environ.get("CRM_ENV_FILE")
    if explicit:
        return Path(explicit)
    local = Path.cwd() / ".env"
    return local if local.exists() else REPO_ROOT / ".env"


def read_env(path: Path | None = None) -> dict[str, str]:
    """Variables from the `.env` file overlaid by the process environment."""
    values: dict[str, str] = {}
    path = path or env_file_path()
    if path.exists():
        values.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    values.update(os.environ)
    return values


def load_settings(path: Path | None = None) -> Settings:
    """Settings from the environment and `.env`; raises SettingsError naming what is missing."""
    env = read_env(path)
    found: dict[str, str] = {}
    missing: list[str] = []
    for field, names in _NAMES.items():
        value = next((env[n] for n in names if env.get(n)), None)
        if value is None:
            missing.append(" or ".join(names))
        else:
            found[field] = value
    if missing:
        raise SettingsError(
            f"no Supabase project configured: {', '.join(missing)} not set in the environment"
            f" or in {path or env_file_path()} (write the values `supabase status -o env`"
            " prints into that file, or start this repository's stack with `make stack`)."
        )
    return Settings(**found)
