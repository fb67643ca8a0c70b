"""A whole ``deatf-gan run``, end to end, with the project's evaluator and with the reference.

    python benchmarks/end_to_end.py [--config configs/gaussian_1d.yaml]
        [--evaluators default,reference] [--generations N]

Each evaluator is one ``deatf-gan run CONFIG --out DIR --quiet`` subprocess, started from the
repository root so that the worker processes import ``benchmarks.reference``: ``default``
runs the config as it is, ``reference`` adds ``--set evaluation.function=`` the
straightforward ``eval_gan`` (``benchmarks/reference.py``: same build and scoring, only the
training differs). ``--generations`` overrides ``evolution.generations`` (0: the initial
population only). Printed per evaluator: wall seconds (interpreter start-up, worker spawn,
the whole evolution and its run directory), exit code, best fitness of the hall of fame,
failed individuals (a run whose individuals fail is fast for nothing), peak resident
memory of the largest single process (GNU ``time``: the driver or one worker, not their
sum) and the CPU seconds other processes took meanwhile (on a shared machine a timing is
only clean where that is near zero); then reference/default seconds.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from parallel import others_cpu_seconds

from deatf_gan.runs import load_run

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # load_run validates the reference run's config, which imports benchmarks.reference
CLI = Path(sys.executable).with_name("deatf-gan")  # the installed console script, as a user runs it
GNU_TIME = Path("/usr/bin/time")
OVERRIDES = {"default": [], "reference": ["evaluation.function=benchmarks.reference:eval_gan_straightforward"]}


def run_once(config: str, overrides: list[str], directory: Path) -> tuple[float, int, float | None, float]:
    """Wall seconds, exit code, peak RSS in MB (None without GNU time) and others' CPU seconds
    of one ``deatf-gan run`` into ``directory / "run"``."""
    command = [str(CLI), "run", config, "--out", str(directory / "run"), "--quiet"]
    command += [item for override in overrides for item in ("--set", override)]
    report = directory / "time.txt"
    if GNU_TIME.exists():
        command = [str(GNU_TIME), "-v", "-o", str(report), *command]
    others = others_cpu_seconds()
    start = time.perf_counter()
    code = subprocess.run(command, cwd=ROOT, check=False).returncode
    seconds = time.perf_counter() - start
    others = others_cpu_seconds() - others
    rss = None
    if report.exists():
        for line in report.read_text().splitlines():
            if "Maximum resident set size" in line:
                rss = int(line.rsplit(":", 1)[1]) / 1024
    return seconds, code, rss, others


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--config", default="configs/gaussian_1d.yaml", help="relative to the repository root, or absolute"
    )
    parser.add_argument("--evaluators", default="default,reference")
    parser.add_argument("--generations", type=int, help="override evolution.generations")
    args = parser.parse_args()
    extra = [] if args.generations is None else [f"evolution.generations={args.generations}"]
    print(f"{args.config}{'' if args.generations is None else f', {args.generations} generations'}\n")
    print(
        f"{'evaluator':<10} {'seconds':>8} {'exit':>4} {'best fitness':>14} {'failed':>6} "
        f"{'peak MB':>8} {'others CPU s':>12}",
        flush=True,
    )
    seconds = {}
    for evaluator in args.evaluators.split(","):
        with tempfile.TemporaryDirectory(prefix=f"end_to_end-{evaluator}-") as directory:
            wall, code, rss, others = run_once(args.config, OVERRIDES[evaluator] + extra, Path(directory))
            run = load_run(Path(directory) / "run") if code == 0 else None
        best = " ".join(f"{value:.4g}" for value in run.hall_of_fame[0].fitness) if run and run.hall_of_fame else "-"
        failures = len(run.failures) if run else "-"
        peak = f"{rss:8.0f}" if rss is not None else "       -"
        print(f"{evaluator:<10} {wall:8.1f} {code:>4} {best:>14} {failures:>6} {peak} {others:12.0f}", flush=True)
        seconds[evaluator] = wall
    if {"default", "reference"} <= seconds.keys():
        print(f"\nreference/default: {seconds['reference'] / seconds['default']:.2f}×")


if __name__ == "__main__":
    main()
