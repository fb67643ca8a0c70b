"""Persistence of a run: the run directory written each generation, resumed and read back.

One module per job: ``layout`` (file names), ``archive`` (state as JSON and arrays, never
pickle), ``checkpoints`` (save and load a generation's
state), ``models`` (a member's ``.keras`` files), ``writer`` (the :class:`RunDirectory` hook
and the evaluation cache), ``lock`` (one writer per directory), ``resume``
(:func:`resume_run`), ``reader`` (:func:`load_run`).
"""

from deatf_gan.atomic import write_atomic
from deatf_gan.runs.archive import ARCHIVE_FORMAT, ArchiveError
from deatf_gan.runs.checkpoints import (
    KEEP_CHECKPOINTS,
    checkpoint_paths,
    load_checkpoint,
    write_checkpoint,
)
from deatf_gan.runs.layout import CACHE, CHECKPOINTS, HALL_OF_FAME
from deatf_gan.runs.lock import RunLock
from deatf_gan.runs.models import ModelFiles, model_files
from deatf_gan.runs.reader import Member, Run, load_run
from deatf_gan.runs.resume import resume_run
from deatf_gan.runs.writer import DiskCache, RunDirectory, export_member, member_record, prepare_run_directory

__all__ = [
    "CACHE",
    "CHECKPOINTS",
    "ARCHIVE_FORMAT",
    "ArchiveError",
    "HALL_OF_FAME",
    "KEEP_CHECKPOINTS",
    "DiskCache",
    "Member",
    "ModelFiles",
    "Run",
    "RunDirectory",
    "RunLock",
    "checkpoint_paths",
    "export_member",
    "load_checkpoint",
    "load_run",
    "member_record",
    "model_files",
    "prepare_run_directory",
    "resume_run",
    "write_atomic",
    "write_checkpoint",
]
