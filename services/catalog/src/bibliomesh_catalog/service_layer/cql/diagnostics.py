"""SRU diagnostics (info:srw/diagnostic/1/...): what a client is told instead of an HTTP error."""

from __future__ import annotations

MESSAGES = {
    1: "General system error",
    4: "Unsupported operation",
    5: "Unsupported version",
    6: "Unsupported parameter value",
    7: "Mandatory parameter not supplied",
    10: "Query syntax error",
    15: "Unsupported context set",
    16: "Unsupported index",
    19: "Unsupported relation",
    20: "Unsupported relation modifier",
    27: "Empty term unsupported",
    28: "Masking character not supported",
    31: "Anchoring character not supported",
    36: "Term in invalid format for index or relation",
    37: "Unsupported boolean operator",
    46: "Unsupported boolean modifier",
    61: "First record position out of range",
    66: "Unknown schema for retrieval",
    71: "Unsupported record packing",
    80: "Sort not supported",
}


class Diagnostic(Exception):
    """A reason a request cannot be answered as asked; `details` names the offending part (an index, a value)."""

    def __init__(self, code: int, details: str | None = None) -> None:
        super().__init__(f"{MESSAGES.get(code, 'Error')}: {details}" if details else MESSAGES.get(code, "Error"))
        self.code = code
        self.details = details

    @property
    def uri(self) -> str:
        """The diagnostic's URI, e.g. `info:srw/diagnostic/1/16`."""
        return f"info:srw/diagnostic/1/{self.code}"

    @property
    def message(self) -> str:
        """The standard message for the code."""
        return MESSAGES.get(self.code, "Error")
