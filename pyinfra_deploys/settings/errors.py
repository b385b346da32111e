"""One error type for bad settings, each problem naming its key."""

from __future__ import annotations

from pydantic import ValidationError


class SettingsError(ValueError):
    """The settings are wrong; ``problems`` holds (key, message) pairs.

    Raised before anything connects to a host, so a wrong setting never
    leaves a half-written server.
    """

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        lines = [f"  february.{key}: {message}" if key else f"  february: {message}" for key, message in problems]
        super().__init__("invalid February settings:\n" + "\n".join(lines))


def from_validation_error(error: ValidationError) -> SettingsError:
    """Turn pydantic's errors into key-named problems with plain messages."""
    problems: list[tuple[str, str]] = []
    for item in error.errors():
        # A hostile key (a mailbox address with a newline) is shown escaped, on its own line.
        key = ".".join(str(part) if str(part).isprintable() else repr(part) for part in item["loc"] if part != "[key]")
        kind = item["type"]
        if kind == "extra_forbidden":
            message = "unknown setting (misspelled?); see pyinfra_deploys/settings/model.py for the known ones"
        elif kind == "missing":
            message = "required setting is missing"
        else:
            message = item["msg"].removeprefix("Value error, ")
            if kind not in ("value_error", "assertion_error") and "input" in item:
                message += f" (got {item['input']!r})"
        problems.append((key, message))
    return SettingsError(problems)
