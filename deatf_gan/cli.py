"""The ``deatf-gan`` command line. Every subcommand is a thin wrapper over the Python API."""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

from deatf_gan import quiet_start
from deatf_gan.config import config_json_schema, load_config
from deatf_gan.datasets import load_dataset
from deatf_gan.errors import ConfigError, DeatfGanError, RunFinished
from deatf_gan.evolution import evolve
from deatf_gan.fitness import check_fitness_applies, describe_fitness
from deatf_gan.memory import check_memory_fits
from deatf_gan.metrics import METRIC_NAMES
from deatf_gan.reporting import ConsoleReporter
from deatf_gan.runs import RunDirectory, RunLock, load_run, prepare_run_directory, resume_run
from deatf_gan.tensorboard_log import tensorboard_hooks

TENSORBOARD_HELP = "also write TensorBoard event files into RUN_DIR/tensorboard (as logging.tensorboard: true)"


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
    run.add_argument("--tensorboard", action="store_true", help=TENSORBOARD_HELP)

    resume = commands.add_parser("resume", help="continue a stopped or finished run from its last checkpoint")
    resume.add_argument("run_directory")
    resume.add_argument("--generations", type=int, help="new total number of generations")
    resume.add_argument(
        "--restart", action="store_true", help="start again from generation 0 if the run has no checkpoint left"
    )
    resume.add_argument("--quiet", action="store_true", help="print nothing but errors")
    resume.add_argument("--tensorboard", action="store_true", help=TENSORBOARD_HELP)

    inspect = commands.add_parser("inspect", help="show the hall of fame of a run (finished or in progress)")
    inspect.add_argument("run_directory")
    inspect.add_argument("--rank", type=int, help="show one member in full, with its lineage")
    inspect.add_argument("--json", action="store_true", help="print JSON instead of a table")

    sample = commands.add_parser("sample", help="write samples of a hall-of-fame generator to a file")
    sample.add_argument("run_directory")
    sample.add_argument("--rank", type=int, default=1)
    sample.add_argument("-n", "--count", type=int, required=True, help="number of samples")
    sample.add_argument("-o", "--output", required=True, help="output file: .npy, .csv, or .png for image data")
    sample.add_argument("--seed", type=int, default=0, help="seed of the latent samples")

    plot = commands.add_parser("plot", help="write PNG plots of a run: fitness over generations, best samples")
    plot.add_argument("run_directory")
    plot.add_argument("--out", help="folder for the PNGs (default: RUN_DIR/plots)")

    schema = commands.add_parser("schema", help="print the JSON Schema of a config file, for editors to check YAML")
    schema.add_argument("-o", "--output", help="write it to this file instead of printing it")
    return parser


def command_run(args: argparse.Namespace) -> int:
    # As the config key, so that the run directory's config.yaml says so and a resume goes on logging.
    config = load_config(args.config, [*args.set, "logging.tensorboard=true"] if args.tensorboard else args.set)
    # Data and fitness problems are reported before a run directory exists.
    dataset = load_dataset(config.data.name, config.data.params, config.seed)
    check_fitness_applies(config.evaluation.fitness_names, dataset)
    check_memory_fits(config, dataset.dim)
    out = Path(args.out) if args.out else Path("runs") / f"{Path(args.config).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    with RunLock(out):  # before --overwrite deletes anything
        prepare_run_directory(out, overwrite=args.overwrite)
        directory = RunDirectory(out)
        hooks = [directory, *tensorboard_hooks(config, out)]
        if not args.quiet:
            hooks.append(ConsoleReporter(run_directory=str(out)))
        return _exit_code(evolve(config, hooks=hooks, cache=directory.cache, dataset=dataset), out)


def command_resume(args: argparse.Namespace) -> int:
    hooks = () if args.quiet else (ConsoleReporter(run_directory=args.run_directory),)
    try:
        result = resume_run(
            args.run_directory,
            args.generations,
            hooks=hooks,
            restart=args.restart,
            tensorboard=True if args.tensorboard else None,  # left out: as the run's config says
        )
    except RunFinished as finished:  # nothing went wrong: the run is as done as it was asked to be
        if not args.quiet:
            print(f"deatf-gan: {finished}")
        return 0
    return _exit_code(result, Path(args.run_directory))


NOTHING_PRODUCED = 3


def _exit_code(result, out: Path) -> int:
    """0 for a run with a hall of fame; NOTHING_PRODUCED, said on stderr, for one in which every
    individual failed: a script that chains runs must not mistake it for a result."""
    if len(result.hall_of_fame):
        return 0
    print(f"deatf-gan: every individual failed; no hall of fame (reasons in {out / 'failures.jsonl'})", file=sys.stderr)
    return NOTHING_PRODUCED


def _member_row(run, member) -> dict:
    """The table's columns, then the quality metrics the member's dataset kind has."""
    row = {key: member.metrics.get(key) for key in INSPECT_COLUMNS}
    row["population"] = run.standing(member)
    row.update({key: member.metrics[key] for key in QUALITY_COLUMNS if key in member.metrics})
    return row


INSPECT_COLUMNS = (
    "rank",
    "fitness",
    "trained_steps",
    "generator_loss",
    "discriminator_loss",
    "discriminator_accuracy_real",
    "discriminator_accuracy_fake",
    "generator_parameters",
    "discriminator_parameters",
    "optimizer",
    "generator_learning_rate",
    "discriminator_learning_rate",
    "generator",
    "discriminator",
)


QUALITY_COLUMNS = tuple(dict.fromkeys(name for names in METRIC_NAMES.values() for name in names))


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return " ".join(_cell(v) for v in value)
    return "-" if value is None else str(value)


def _fitness_header(run) -> str:
    """What the fitness column's number is, and the value to read it against if it has one."""
    evaluation = run.config.evaluation
    measure = describe_fitness(evaluation.fitness_names, evaluation.function, evaluation.objective_weights[0])
    reference = f" ({measure.reference[1]})" if measure.reference else ""
    return f"fitness = {measure}{reference}"


def command_inspect(args: argparse.Namespace) -> int:
    run = load_run(args.run_directory)
    run.require_hall_of_fame()
    if args.rank is not None:
        member = run.member(args.rank)
        record = {**member.metrics, "genome": member.genome.to_dict()}
        if args.json:
            print(json.dumps(record, indent=2))
            return 0
        print(_fitness_header(run) + "\n")
        for key, value in member.metrics.items():
            print(f"{key:>28}  {_cell(value)}")
        parents = member.metrics["parents"] or "(none: initial population)"
        operators = member.metrics["operators"] or "(sampling)"
        print(f"{'lineage':>28}  born in generation {member.metrics['born']} from parents {parents} by {operators}")
        standing = run.standing(member)
        if standing is not None:
            generation = run.population["generation"]
            where = {"elite": "elite (sure to survive) in", "member": "a member of", "gone": "not in"}[standing]
            print(f"{'population':>28}  {where} generation {generation}'s population")
        print("\ngenome:")
        print(member.genome.to_json())
        return 0
    rows = [_member_row(run, member) for member in run.hall_of_fame]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    quality = [key for key in QUALITY_COLUMNS if key in rows[0]]
    print(_fitness_header(run))
    print("population: elite (among the evolution.elitism fittest, sure to survive), member, or gone\n")
    headers = [
        "rank",
        "fitness",
        "population",
        "steps",
        "L_G",
        "L_D",
        "acc real",
        "acc fake",
        "params G",
        "params D",
        "optimizer",
        "lr G",
        "lr D",
    ]
    headers += quality
    keys = [*INSPECT_COLUMNS[:2], "population", *INSPECT_COLUMNS[2:12], *quality]
    table = [headers] + [[_cell(row.get(key)) for key in keys] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
    for line in table:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths)))
    print()
    for row in rows:
        print(f"rank {row['rank']}: generator {row['generator']} | discriminator {row['discriminator']}")
    return 0


def command_sample(args: argparse.Namespace) -> int:
    import numpy as np

    if args.count < 1:
        raise ConfigError(f"-n: must be >= 1 (got {args.count})")
    output = Path(args.output)
    if output.suffix not in (".npy", ".csv", ".png"):
        raise ConfigError(f"-o {output}: unknown file type; use .npy, .csv or .png (image data)")
    run = load_run(args.run_directory)
    run.require_hall_of_fame()
    samples = run.member(args.rank).sample(args.count, seed=args.seed)
    with _files_named(output):
        if output.suffix == ".npy":
            np.save(output, samples)
        elif output.suffix == ".csv":
            np.savetxt(output, samples, delimiter=",", fmt="%.7g")  # the digits a float32 sample holds
        else:
            from deatf_gan import plots

            if plots.image_side(samples.shape[1]) is None:
                raise ConfigError(f"-o {output}: .png is for image data; this data has {samples.shape[1]} features")
            plots.save_image_grid(samples, output)
    print(f"wrote {args.count} samples of rank {args.rank} to {output}")
    return 0


def command_plot(args: argparse.Namespace) -> int:
    from deatf_gan.plots import plot_run

    with _files_named(args.out or args.run_directory):
        paths = plot_run(args.run_directory, args.out)
    for path in paths:
        print(f"wrote {path}")
    return 0


def command_schema(args: argparse.Namespace) -> int:
    text = json.dumps(config_json_schema(), indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return 0
    with _files_named(args.output):
        Path(args.output).write_text(text, encoding="utf-8")
    print(f"wrote the config's JSON Schema to {args.output}")
    return 0


@contextmanager
def _files_named(path):
    """An output path the user gave that the system refuses (``-o /proc/x.npy``) is a bad
    input: one line naming the file, as for any other."""
    try:
        yield
    except OSError as error:
        raise ConfigError(f"{error.filename or path}: {error.strerror or error}") from None


COMMANDS = {
    "run": command_run,
    "resume": command_resume,
    "inspect": command_inspect,
    "sample": command_sample,
    "plot": command_plot,
    "schema": command_schema,
}


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning here is news for the user (a checkpoint skipped), not for a debugger: one
    line like the errors, without the source line Python's default adds."""
    print(f"deatf-gan: warning: {' '.join(str(message).split())}", file=sys.stderr)


def _quiet_tensorflow_start_up() -> None:
    """TensorFlow's C++ start-up lines (absl's "All log messages before InitializeLog", oneDNN,
    CPU features, XLA service) say nothing a user of this command can act on, and its loader
    of XLA's disk cache logs an ERROR line per function that means nothing (as in the workers,
    ``executors.configure_worker``); failures still raise. A level the user set is kept. The
    lines that no level stops are dropped from the first import (``quiet_start``)."""
    quiet_start.quiet_tensorflow()


def main(argv: list[str] | None = None) -> int:
    """The command; ``argv`` None reads the command line, and only then is the process's
    environment set up for TensorFlow (a Python caller keeps its own)."""
    if argv is None:
        _quiet_tensorflow_start_up()
    args = _parser().parse_args(argv)
    with warnings.catch_warnings():  # restores the caller's showwarning on the way out
        warnings.showwarning = _warning_line
        try:
            return COMMANDS[args.command](args)
        except DeatfGanError as error:
            print(f"deatf-gan: error: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("deatf-gan: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
