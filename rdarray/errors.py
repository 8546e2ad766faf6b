"""The exceptions rdarray adds to the standard ones (contract section 5), and the checks of
arguments every layer shares: a wrong type is a ``TypeError``, a wrong value a ``ValueError``."""

import numpy as np


class CorruptDataError(ValueError):
    """Stored data failed its checksum, or its header is invalid."""


class WorkerLostError(RuntimeError):
    """Work lost with a worker could not be recomputed."""


class ClosedError(RuntimeError):
    """The context, or its block store, is closed: it runs and keeps nothing more."""

    def __init__(self, message: str = "this Context is closed"):
        super().__init__(message)


def add_task_note(exc: BaseException, where: str) -> None:
    """Name the stage and partition an exception came from, once."""
    notes = getattr(exc, "__notes__", ())
    if not any(note.startswith("rdarray: ") for note in notes):
        exc.add_note(f"rdarray: raised {where}")


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type. A ``TypeError``, as the rule is; also a ``ValueError``, which
    these checks raised before the rule was applied to them, so code catching that still does (as
    NumPy's ``AxisError`` is both a ``ValueError`` and an ``IndexError``)."""


def check_integer(value, minimum: int, message: str) -> int:
    """``value`` as an int: an ``ArgumentTypeError`` with ``message`` unless it is an integer (a
    bool is not), a ``ValueError`` with ``message`` when it is below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ArgumentTypeError(message)
    if value < minimum:
        raise ValueError(message)
    return int(value)


def check_callable(fn, what: str, argument: str = "fn") -> None:
    """A ``TypeError`` naming ``what`` and its ``argument`` unless ``fn`` can be called."""
    if not callable(fn):
        raise TypeError(f"{what}: {argument} must be callable, got {type(fn).__name__}")
