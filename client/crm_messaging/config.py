"""Connection settings of a Supabase project, read from the environment and `.env`.

The names are the ones `supabase status -o env` prints (API_URL, ANON_KEY, ...), with
the SUPABASE_* spellings accepted too, so the same code runs against any Supabase stack.
A client needs what a supabase-py user has: the URL and a key. JWT_SECRET and DB_URL are
read when present, for the developer tools and tests that need them (`require=`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from .errors import SettingsError

_NAMES = {
    "api_url": ("API_URL", "SUPABASE_URL"),
    "anon_key": ("ANON_KEY", "SUPABASE_ANON_KEY"),
    "service_role_key": ("SERVICE_ROLE_KEY", "SUPABASE_SERVICE_ROLE_KEY"),
    "jwt_secret": ("JWT_SECRET", "SUPABASE_JWT_SECRET"),
    "db_url": ("DB_URL", "SUPABASE_DB_URL"),
}


@dataclass(frozen=True)
class Settings:
    api_url: str
    anon_key: str | None = None
    service_role_key: str | None = None
    jwt_secret: str | None = None
    db_url: str | None = None


def env_file_path() -> Path:
    """The `.env` to read: $CRM_ENV_FILE, else the one in the working directory."""
    explicit = os.environ.get("CRM_ENV_FILE")
    return Path(explicit) if explicit else Path.cwd() / ".env"


def read_env(path: Path | None = None) -> dict[str, str]:
    """Variables from the `.env` file overlaid by the process environment."""
    values: dict[str, str] = {}
    path = path or env_file_path()
    if path.exists():
        values.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    values.update(os.environ)
    return values


def load_settings(path: Path | None = None, *, require: Iterable[str] = ()) -> Settings:
    """Settings from the environment and `.env`: the API URL and a key (anon or service
    role), plus the fields named in `require`; raises SettingsError naming what is missing."""
    env = read_env(path)
    found = {
        field: next((env[n] for n in names if env.get(n)), None) for field, names in _NAMES.items()
    }
    missing = [" or ".join(_NAMES[f]) for f in ("api_url", *require) if not found[f]]
    if not (found["anon_key"] or found["service_role_key"]):
        missing.append(" or ".join(_NAMES["anon_key"] + _NAMES["service_role_key"]))
    if missing:
        raise SettingsError(
            f"no Supabase project configured: {', '.join(missing)} not set in the environment"
            f" or in {path or env_file_path()} (write the values `supabase status -o env`"
            " prints into that file, or start a checkout's local stack with `make stack`)."
        )
    return Settings(
        api_url=str(found["api_url"]),
        anon_key=found["anon_key"],
        service_role_key=found["service_role_key"],
        jwt_secret=found["jwt_secret"],
        db_url=found["db_url"],
    )
