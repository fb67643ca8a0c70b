"""The ``deatf-gan`` command line. Every subcommand is a thin wrapper over the Python API."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from deatf_gan.config import load_config
from deatf_gan.errors import DeatfGanError
from deatf_gan.evolution import evolve
from deatf_gan.reporting import ConsoleReporter
from deatf_gan.runs import RunDirectory, prepare_run_directory


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deatf-gan", description="Evolve GAN architectures with DEAP and Keras.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run an evolution from a YAML config")
    run.add_argument("config", help="path of a YAML config (see configs/)")
    run.add_argument("--out", help="run directory (default: runs/<config name>-<time>)")
    run.add_argument(
        "--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="override a config value (repeatable)"
    )
    run.add_argument("--overwrite", action="store_true", help="replace a run directory that is not empty")
    run.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return parser


def command_run(args: argparse.Namespace) -> int:
    config = load_config(args.config, args.set)
    out = Path(args.out) if args.out else Path("runs") / f"{Path(args.config).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    prepare_run_directory(out, overwrite=args.overwrite)
    hooks = [RunDirectory(out)]
    if not args.quiet:
        hooks.append(ConsoleReporter(run_directory=str(out)))
    evolve(config, hooks=hooks)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"run": command_run}[args.command](args)
    except DeatfGanError as error:
        print(f"deatf-gan: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("deatf-gan: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
