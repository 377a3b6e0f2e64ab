"""The store's errors: one base class, each message a sentence a user can act on.

The store has no source spans, so these are plain exceptions rather than the
compiler's ``RuleError`` diagnostics; ``str()`` of each is the message to print.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rulelang.decision import Override


class StoreError(Exception):
    """Anything the decision log, review queue or exports refuse to do."""


class LogUnavailable(StoreError):
    """The log cannot be opened: a missing file, an unreachable server, a bad URL."""


class UnknownDecision(StoreError):
    """No decision with this id is in the log."""

    def __init__(self, decision_id: str) -> None:
        self.decision_id = decision_id
        super().__init__(f"no decision with id {decision_id!r} in the log")


class ReviewError(StoreError):
    """A review action that cannot be taken (wrong role, item already closed...)."""


class ReviewConflict(ReviewError):
    """Someone else acted on the same decision while this action was prepared."""


class OverrideRefused(ReviewError):
    """The policy refused an override; the refusal is recorded in the log."""

    def __init__(self, override: Override) -> None:
        self.override = override
        super().__init__(
            f"override of {override.output} on decision {override.decision_id} refused: "
            f"{override.refusal}"
        )
