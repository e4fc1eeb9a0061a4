"""Errors that reach the user as one line for one file (never a traceback)."""


class GeoprivacyError(Exception):
    """Base of every error the tool reports to the user as one line."""


class ParseError(GeoprivacyError):
    """A file's structure is broken, truncated or hostile; the message says where."""


class BudgetExceeded(ParseError):
    """A parser tried to read more than its per-file budget allows."""


class UnsupportedFormat(GeoprivacyError):
    """The content is not a format geoprivacy understands."""


class ModelUnavailable(GeoprivacyError):
    """A model file is missing or does not match its registered hash."""
