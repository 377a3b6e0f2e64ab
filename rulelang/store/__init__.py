"""The decision log, review queue and overrides.

``open_log`` opens a log (SQLite by path, PostgreSQL by URL); ``ReviewDesk`` works the
review queue; ``verify`` checks the hash chain; ``render_record`` explains a record;
``export_labels`` and ``report`` turn reviews into training data and trust figures.
"""

from rulelang.store.chain import ChainHead, Problem, VerifyReport, verify
from rulelang.store.errors import (
    LogUnavailable,
    OverrideRefused,
    ReviewConflict,
    ReviewError,
    StoreError,
    UnknownDecision,
)
from rulelang.store.explain import explain_logged, render_history, render_record
from rulelang.store.labels import export_labels
from rulelang.store.log import DecisionLog, open_log
from rulelang.store.records import LoggedDecision, NewReview, PolicySource, ReviewEvent
from rulelang.store.report import TrustReport, report
from rulelang.store.review import CaseFile, ReviewDesk, ReviewItem

__all__ = [
    "CaseFile",
    "ChainHead",
    "DecisionLog",
    "LogUnavailable",
    "LoggedDecision",
    "NewReview",
    "OverrideRefused",
    "PolicySource",
    "Problem",
    "ReviewConflict",
    "ReviewDesk",
    "ReviewError",
    "ReviewEvent",
    "ReviewItem",
    "StoreError",
    "TrustReport",
    "UnknownDecision",
    "VerifyReport",
    "explain_logged",
    "export_labels",
    "open_log",
    "render_history",
    "render_record",
    "report",
    "verify",
]
