"""python -m devstack up [--reset] | down | status | env | db-flag | demo | migration NAME | release VERSION"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from crm_messaging.errors import CrmMessagingError

from . import stack
from .layout import web_url


def run(action: str, reset: bool = False, name: str = "") -> int:
    if action == "migration":
        from .release import write_migration

        path, todo = write_migration(name)
        print(f"wrote {path.relative_to(path.parents[2])}")
        for line in todo:
            print(f"  todo: {line}")
        if todo:
            print("write the DDL for each todo line in it, then run make test")
    elif action == "release":
        from .release import cut_release

        r = cut_release(name)
        print(f"release {r.version}: migrations up to {r.last_migration}, sha256 {r.sha256}")
        print(f"commit supabase/releases.txt and tag it: git tag v{r.version}")
    elif action == "up":
        stack.up(reset=True if reset else None)
    elif action == "down":
        stack.down()
    elif action == "status":
        parts = stack.status()
        for name, ok in parts.items():
            where = f"  {web_url()}" if name == "web" else ""
            print(f"{name:10} {'running' if ok else 'stopped'}{where}")
        return 0 if all(parts.values()) else 3
    elif action == "db-flag":
        print(stack.cli_db_flag())
    elif action == "env":
        for key, value in stack.stack_env().items():
            print(f"{key}={value}")
    elif action == "demo":
        from .demo import demo

        demo()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack",
        description="The checkout's local Supabase stack (PostgreSQL, PostgREST, nginx, Deno).",
    )
    parser.add_argument(
        "action",
        choices=["up", "down", "status", "env", "db-flag", "demo", "migration", "release"],
    )
    parser.add_argument("name", nargs="?", default="", help="migration NAME / release VERSION")
    parser.add_argument("--reset", action="store_true", help="with up: run `supabase db reset`")
    args = parser.parse_args(argv)
    try:
        return run(args.action, args.reset, args.name)
    except (CrmMessagingError, ValueError, RuntimeError) as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
