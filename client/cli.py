"""The `crm-messaging` command line: a thin layer over the package's plain functions."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import stack
from .commands import add_commands
from .config import SettingsError
from .errors import MessagingError
from .importers import ExportFormatError


def _cmd_stack(args: argparse.Namespace) -> int:
    if args.action == "up":
        stack.up(reset=True if args.reset else None)
    elif args.action == "down":
        stack.down()
    elif args.action == "status":
        parts = stack.status()
        for name, ok in parts.items():
            where = f"  {stack.web_url()}" if name == "web" else ""
            print(f"{name:10} {'running' if ok else 'stopped'}{where}")
        return 0 if all(parts.values()) else 3
    elif args.action == "db-flag":
        print(stack.cli_db_flag())
    elif args.action == "env":
        for key, value in stack.stack_env().items():
            print(f"{key}={value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm-messaging", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p_stack = sub.add_parser(
        "stack", help="the local Supabase stack (PostgreSQL, PostgREST, nginx)"
    )
    p_stack.add_argument("action", choices=["up", "down", "status", "env", "db-flag"])
    p_stack.add_argument("--reset", action="store_true", help="with up: run `supabase db reset`")
    p_stack.set_defaults(func=_cmd_stack)
    add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (stack.StackError, SettingsError) as exc:
        print(f"crm-messaging: {exc}", file=sys.stderr)
        return 1
    except (ExportFormatError, ValueError) as exc:
        print(f"crm-messaging: {exc}", file=sys.stderr)
        return 2
    except MessagingError as exc:
        print(f"crm-messaging: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
