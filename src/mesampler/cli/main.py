"""``mesampler`` command line: one sub-command per module in ``_COMMANDS``.

Each command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

_COMMANDS = (
    "mesampler.cli.demo",
    "mesampler.cli.attack",
    "mesampler.cli.evaluate",
    "mesampler.cli.motion",
    "mesampler.cli.models",
    "mesampler.cli.serve",
    "mesampler.cli.campaign",
    "mesampler.cli.report",
)


class UserError(Exception):
    """An error caused by the user's input; printed without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    from mesampler import __version__

    parser = argparse.ArgumentParser(
        prog="mesampler", description="Black-box adversarial attacks on video classifiers."
    )
    parser.add_argument("--version", action="version", version=f"mesampler {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for modname in _COMMANDS:
        mod = importlib.import_module(modname)
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    from mesampler.attacks.oracle import ModelError
    from mesampler.remote.client import RemoteModelError

    try:
        return int(args._run(args) or 0)
    except (UserError, ValueError, FileNotFoundError, TypeError, ModelError, RemoteModelError) as e:
        if args.verbose:
            logging.exception("details")
        print(f"mesampler {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mesampler {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
