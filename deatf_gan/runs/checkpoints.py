"""Checkpoints: a generation's complete state saved atomically, and the newest readable one loaded."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

from deatf_gan.atomic import write_atomic
from deatf_gan.errors import CheckpointError
from deatf_gan.evolution import GenerationState, ResumeState
from deatf_gan.runs.layout import CHECKPOINTS

KEEP_CHECKPOINTS = 3
CHECKPOINT_FORMAT = 1


def checkpoint_paths(run_directory: str | Path) -> list[Path]:
    """Checkpoint files, oldest first."""
    return sorted((Path(run_directory) / CHECKPOINTS).glob("generation_*.pkl"))


def write_checkpoint(state: GenerationState, run_directory: Path) -> Path:
    """Save everything needed to continue after ``state.generation``; keep the last few."""
    directory = Path(run_directory) / CHECKPOINTS
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"generation_{state.generation:05d}.pkl"
    write_atomic(path, pickle.dumps({"format": CHECKPOINT_FORMAT, "state": state.resume_state()}))
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
            data = pickle.loads(path.read_bytes())
            if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
                raise ValueError("not a deatf_gan checkpoint of this version")
        except Exception as error:  # noqa: BLE001 - any unreadable file falls back to the previous one
            problems.append(f"checkpoint {path} is unreadable ({type(error).__name__}: {error})")
            continue
        if problems:
            # A warning, not a log record: the caller (a test, a notebook) can catch it.
            warnings.warn(f"{'; '.join(problems)}; resuming from {path}", stacklevel=2)
        return data["state"]
    if problems:
        raise CheckpointError("; ".join(problems) + "; no earlier checkpoint to fall back to")
    return None
