"""The two error types the project raises for bad input.

Both derive from ValueError so callers that only know the standard library still catch them. A message always
names the offending file (with `:line` for line-oriented formats) or config key, and says what is wrong.
"""


class DataError(ValueError):
    """A data file or folder is missing, empty or malformed; the message names it (``path:line: what``)."""


class ConfigError(ValueError):
    """A setting has an unknown name or an invalid value; the message names it and lists the valid choices."""
