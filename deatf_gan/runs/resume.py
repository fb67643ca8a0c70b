"""Resuming a run: its config and newest checkpoint back into the evolution loop."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from deatf_gan.errors import ConfigError, RunFinished
from deatf_gan.evolution import EvolutionResult, Hook, evolve
from deatf_gan.runs.checkpoints import load_checkpoint
from deatf_gan.runs.layout import CHECKPOINTS, LOGBOOK_JSONL, read_lines
from deatf_gan.runs.lock import RunLock
from deatf_gan.runs.reader import run_config
from deatf_gan.runs.writer import RunDirectory


def resume_run(
    run_directory: str | Path,
    generations: int | None = None,
    hooks: tuple[Hook, ...] = (),
    map_fn=None,
    restart: bool = False,
    tensorboard: bool | None = None,
) -> EvolutionResult:
    """Continue a run from its last complete generation, reusing evaluations it finished since.

    ``generations`` raises (or lowers) the total number of generations. The result equals
    that of the same run never interrupted. The directory is locked (:class:`RunLock`)
    while it runs. A run whose logbook has rows but whose checkpoints are gone is refused:
    it could only start again from generation 0, which ``restart`` asks for. A run whose
    checkpoint already holds its last generation raises :class:`RunFinished`, which says how
    to extend it, rather than pretending to resume. TensorBoard event files are written as
    the run's ``logging.tensorboard`` says, or as ``tensorboard`` says if given (and the run
    directory's config is saved with it).
    """
    run_directory = Path(run_directory)
    config = run_config(run_directory, import_user_code=True)
    if generations is not None:
        if generations < 0:
            raise ConfigError(f"--generations: must be >= 0 (got {generations})")
        config = replace(config, evolution=replace(config.evolution, generations=generations))
    if tensorboard is not None:
        config = replace(config, logging=replace(config.logging, tensorboard=tensorboard))
    with RunLock(run_directory):
        saved = load_checkpoint(run_directory)
        done = len(read_lines(run_directory / LOGBOOK_JSONL))
        if saved is None and done and not restart:
            raise ConfigError(
                f"{run_directory}: the logbook has {done} generation(s) but {CHECKPOINTS}/ holds no checkpoint;"
                " resuming would start again from generation 0 (pass --restart to do that)"
            )
        total = config.evolution.generations
        if saved is not None and saved.generation >= total:
            raise RunFinished(
                f"{run_directory}: finished, generation {saved.generation} of {total} is done; nothing to resume"
                f" (to extend it, give a new total: --generations N with N > {saved.generation})"
            )
        from deatf_gan.tensorboard_log import tensorboard_hooks  # it reads run directories' layout: imported late

        directory = RunDirectory(run_directory, resuming=True)
        hooks = (directory, *tensorboard_hooks(config, run_directory), *hooks)
        return evolve(config, map_fn=map_fn, hooks=hooks, cache=directory.cache, resume=saved)
