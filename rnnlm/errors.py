"""User-facing errors: anything a person can fix by changing their input.

The CLI and the playground print these as one clear line; anything else is a bug
and is allowed to show a traceback.
"""


class RnnlmError(Exception):
    """A mistake in user input, with a message that says what to do instead."""


class SettingsError(RnnlmError, ValueError):
    """Sampling or scoring settings outside what is allowed."""


class CheckpointError(RnnlmError):
    """A model folder that is missing, truncated, tampered with or inconsistent."""


class CorpusError(RnnlmError):
    """A training corpus that cannot be used (empty, binary, too short, ...)."""
