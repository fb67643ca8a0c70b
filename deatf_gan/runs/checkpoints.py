"""Checkpoints: a generation's complete state saved atomically, and the newest readable one loaded.

A checkpoint is an archive (:mod:`deatf_gan.runs.archive`): JSON and plain arrays, so
resuming a run directory somebody else wrote can never run their code.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from deatf_gan.errors import CheckpointError
from deatf_gan.evolution import GenerationState, ResumeState
from deatf_gan.runs.archive import Arrays, decode_resume_state, encode_resume_state, read_archive, write_archive
from deatf_gan.runs.layout import CHECKPOINTS

KEEP_CHECKPOINTS = 3
CHECKPOINT = "checkpoint"  # the archive kind
PICKLED = "generation_*.pkl"  # pickled checkpoints: named in an error, never read, as loading one can run code


def checkpoint_paths(run_directory: str | Path) -> list[Path]:
    """Checkpoint files, oldest first."""
    return sorted((Path(run_directory) / CHECKPOINTS).glob("generation_*.npz"))


def write_checkpoint(state: GenerationState, run_directory: Path) -> Path:
    """Save everything needed to continue after ``state.generation``; keep the last few."""
    directory = Path(run_directory) / CHECKPOINTS
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"generation_{state.generation:05d}.npz"
    arrays = Arrays()
    write_archive(path, CHECKPOINT, encode_resume_state(state.resume_state(), arrays), arrays)
    for old in checkpoint_paths(run_directory)[:-KEEP_CHECKPOINTS]:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(run_directory: str | Path) -> ResumeState | None:
    """The newest readable checkpoint; a corrupt one is reported and the previous one used.

    Returns None when the run has no checkpoint yet (it stopped in generation 0).
    """
    problems = []
    for path in reversed(checkpoint_paths(run_directory)):
        try:
            state = decode_resume_state(*read_archive(path, CHECKPOINT))
        except Exception as error:  # noqa: BLE001 - any unreadable file falls back to the previous one
            problems.append(f"checkpoint {path} is unreadable ({error})")
            continue
        if problems:
            # A warning, not a log record: the caller (a test, a notebook) can catch it.
            warnings.warn(f"{'; '.join(problems)}; resuming from {path}", stacklevel=2)
        return state
    if problems:
        raise CheckpointError("; ".join(problems) + "; no earlier checkpoint to fall back to")
    pickled = sorted((Path(run_directory) / CHECKPOINTS).glob(PICKLED))
    if pickled:
        raise CheckpointError(
            f"{pickled[-1]}: a pickled checkpoint, which is never loaded because loading a pickle can "
            "run code; resume this run with the deatf_gan version that wrote it"
        )
    return None
