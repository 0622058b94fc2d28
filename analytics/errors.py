"""Errors of the analytics package, one root and small data-carrying subclasses.

    AnalyticsError
    ├── BatchRefused(reason)        the whole batch is refused (too large, not a batch at all)
    ├── StoreError(path, reason, fix)  the DuckDB file cannot be opened or written
    ├── QueryError(reason)          a question asked with bad parameters (unknown step, bad window...)
    └── ModelError(reason)          not enough data to train or evaluate a model
"""

from __future__ import annotations


class AnalyticsError(Exception):
    """Root of every error raised by ``analytics``."""


class BatchRefused(AnalyticsError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StoreError(AnalyticsError):
    def __init__(self, path: str, reason: str, fix: str) -> None:
        super().__init__(f"{path}: {reason}; {fix}")
        self.path, self.reason, self.fix = path, reason, fix


class QueryError(AnalyticsError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ModelError(AnalyticsError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
