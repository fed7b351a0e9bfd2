"""User-facing errors: the CLI prints their message (no traceback) and exits non-zero."""

from __future__ import annotations


class ColorsegError(Exception):
    """Base class for errors caused by user input (files, configs, checkpoints)."""


class DataError(ColorsegError, ValueError):
    """A data file or folder is missing, unreadable or inconsistent; the message names it."""


class ConfigError(ColorsegError, ValueError):
    """A configuration value is invalid; the message names the key and value."""


class CheckpointError(ColorsegError, ValueError):
    """A checkpoint is missing, corrupt, untrusted or of the wrong task."""
