"""The error kinds of deatf_gan.

Two kinds matter to a run (as Keras Tuner separates failed trials from fatal errors):
an :class:`IndividualFailed` fails one individual, which gets the worst fitness and a
recorded reason while the run goes on; every other :class:`DeatfGanError` aborts the run
before or during it with a message that says what and where.
"""


class DeatfGanError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(DeatfGanError, ValueError):
    """A config value is missing, unknown or out of range; the message names its key path."""


class GenomeError(DeatfGanError, ValueError):
    """A genome is malformed or outside its search space; the message names the field."""


class DataError(DeatfGanError, ValueError):
    """A data source cannot give a usable float array; the message names the source."""


class IndividualFailed(DeatfGanError):
    """One individual could not be scored (NaN loss, bad return value); the run goes on."""


class RunAborted(DeatfGanError):
    """The run cannot go on (bad evaluation function, too many failures)."""


class RunFinished(DeatfGanError):
    """A resumed run has no generation left to run; the message says how to extend it."""


class CheckpointError(DeatfGanError):
    """No checkpoint of a run can be read; the message names every file tried."""
