"""The exceptions the runtime's statuses become.

Every failing call of the C API returns a status and leaves a sentence naming what was wrong
(for a bad model file: the field and the value). `Error` carries both; its subclasses also
derive from the built-in exception a Python caller would catch for that kind of problem, so
that `except ValueError` and `except OSError` work as expected.
"""

STATUS_NAMES = {
    0: "ok",
    1: "invalid argument",
    2: "io",
    3: "malformed model",
    4: "unsupported model",
    5: "backend error",
    6: "out of memory",
    7: "internal",
}


class Error(Exception):
    """A failure reported by the latentkit runtime: `status` (int), `status_name`, and the
    runtime's message as the exception's text."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.status_name = STATUS_NAMES.get(status, "unknown status %d" % status)


class InvalidArgumentError(Error, ValueError):
    """A bad argument: a size, a batch, a method or a group the model does not have."""


class ModelFileError(Error, OSError):
    """The model file could not be read."""


class MalformedModelError(Error, ValueError):
    """The bytes are not a valid latentkit model file."""


class UnsupportedModelError(Error, ValueError):
    """A valid file that this runtime cannot run (a newer format version, ...)."""


class BackendError(Error, RuntimeError):
    """The backend (XNNPACK) refused or failed."""


class OutOfMemoryError(Error, MemoryError):
    """The model or batch needs more memory than allowed, or allocating failed."""


class InternalError(Error, RuntimeError):
    """A bug in latentkit."""


_BY_STATUS = {
    1: InvalidArgumentError,
    2: ModelFileError,
    3: MalformedModelError,
    4: UnsupportedModelError,
    5: BackendError,
    6: OutOfMemoryError,
    7: InternalError,
}


def error_for(status, message):
    """The exception for a failing status and the runtime's message."""
    return _BY_STATUS.get(status, Error)(status, message)
