"""Errors raised by ``assets_gen``.

    AssetsError                          root of this package
    ├── ParameterError(param, reason)    a request parameter is wrong (names which one and why)
    ├── GenerationFailed(stage, reason)  a generator could not produce a valid result (e.g. WFC gave up)
    ├── Cancelled(reason)                the job was cancelled or its deadline passed
    └── ExportError(path, reason)        an output file could not be written

The service maps ``ParameterError`` to ``ErrorCode.INVALID``, ``Cancelled`` to ``RPC_TIMEOUT`` and the
others to ``RPC_FAILED``; the CLI prints the message and exits with status 2.
"""

from __future__ import annotations


class AssetsError(Exception):
    """Root of every error raised by the asset and level generators."""


class ParameterError(AssetsError):
    """A parameter is out of range, of the wrong type, unknown, or asks for something impossible.

    Attributes:
        param: the parameter's name as the caller spelled it (``size``, ``targets.enemies``).
        reason: why it is refused and what would be accepted.
    """

    def __init__(self, param: str, reason: str) -> None:
        super().__init__(f"parameter {param!r}: {reason}")
        self.param = param
        self.reason = reason


class GenerationFailed(AssetsError):
    """A generator gave up (e.g. WaveFunctionCollapse hit contradictions on every attempt)."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage = stage
        self.reason = reason


class Cancelled(AssetsError):
    """The job was cancelled (caller gone, deadline passed, service shutting down)."""


class ExportError(AssetsError):
    """Writing an output file failed."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot write {path}: {reason}")
        self.path = path
        self.reason = reason
