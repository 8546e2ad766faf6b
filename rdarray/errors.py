"""The exceptions rdarray adds to the standard ones (contract section 5)."""


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


def check_callable(fn, what: str, argument: str = "fn") -> None:
    """A ``TypeError`` naming ``what`` and its ``argument`` unless ``fn`` can be called."""
    if not callable(fn):
        raise TypeError(f"{what}: {argument} must be callable, got {type(fn).__name__}")
