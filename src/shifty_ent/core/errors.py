"""Error hierarchy. Each class carries the exit code documented in the README and
docs/cli-contract.md.

Services raise these; the one error boundary in ``shifty_ent.cli`` turns them into a single line
on stderr (or a JSON error object with ``-o json``) and the process exit code.
"""

from __future__ import annotations

from typing import Any


class ShiftyError(Exception):
    """Base of every expected failure. ``exit_code`` 1 means an unexpected error."""

    exit_code: int = 1
    type: str = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "message": self.message,
            "exit_code": self.exit_code,
        }
        if self.details:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(ShiftyError):
    """Bad usage or a value that cannot be accepted (exit 2)."""

    exit_code = 2
    type = "invalid_input"


class NotFound(ShiftyError):
    """The named thing does not exist, or not in this tenant (exit 3)."""

    exit_code = 3
    type = "not_found"


class Refused(ShiftyError):
    """Refused by policy: budget, role, legal hold, missing approval (exit 4)."""

    exit_code = 4
    type = "refused"


class PermissionDenied(Refused):
    """The acting user lacks the role a command needs (exit 4)."""

    type = "permission_denied"


class Conflict(ShiftyError):
    """Already claimed, wrong state, or a duplicate (exit 5)."""

    exit_code = 5
    type = "conflict"


class ExternalServiceError(ShiftyError):
    """A provider (vast.ai, Hugging Face, Ollama, S3, PostgreSQL) failed after retries (exit 6)."""

    exit_code = 6
    type = "external_service"


class Interrupted(ShiftyError):
    """The user pressed Ctrl-C (exit 130)."""

    exit_code = 130
    type = "interrupted"


EXIT_CODES: dict[int, str] = {
    0: "ok",
    1: "unexpected error",
    2: "usage or invalid input",
    3: "not found",
    4: "refused by policy (budget, role, legal hold, approval missing)",
    5: "conflict (already claimed, wrong state)",
    6: "external service failed after retries",
    130: "interrupted (Ctrl-C)",
}
