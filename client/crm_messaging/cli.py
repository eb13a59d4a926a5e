"""The `crm-messaging` command line: a thin layer over the package's plain functions."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .commands import add_commands
from .errors import CrmMessagingError, InputError
from .merges import add_merge_commands

STACK_ACTIONS = ["up", "down", "status", "env", "db-flag"]


def _cmd_stack(args: argparse.Namespace) -> int:
    """Runs the checkout's developer tool (`python -m devstack`); it is not part of the package."""
    checkout = Path.cwd()
    if not (checkout / "devstack" / "__main__.py").is_file():
        print(
            "crm-messaging: the local stack is a developer tool of a crm-messaging checkout:"
            " run `make stack` (or `crm-messaging stack ...`) in one.",
            file=sys.stderr,
        )
        return 1
    cmd = [sys.executable, "-m", "devstack", args.action, *(["--reset"] if args.reset else [])]
    return subprocess.run(cmd, cwd=checkout, check=False).returncode


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm-messaging", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p_stack = sub.add_parser(
        "stack", help="in a checkout: the local Supabase stack (runs `python -m devstack`)"
    )
    p_stack.add_argument("action", choices=STACK_ACTIONS)
    p_stack.add_argument("--reset", action="store_true", help="with up: run `supabase db reset`")
    p_stack.set_defaults(func=_cmd_stack)
    add_commands(sub)
    add_merge_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except InputError as exc:
        # one line, whatever the reason quotes from the file
        print(f"crm-messaging: {' '.join(str(exc).splitlines())}", file=sys.stderr)
        return 2
    except CrmMessagingError as exc:
        print(f"crm-messaging: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
