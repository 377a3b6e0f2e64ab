"""rulelang: a readable, terminating policy language for production ML.

policy = rulelang.open_policy("pricing.rule", models={"fraud_risk": my_scorer})
decision = policy.decide({"item": {...}, "customer": {...}, "order": {...}})
"""

from importlib.metadata import version

from rulelang.app import load, open_policy, open_source
from rulelang.decision import Decision, Firing, ModelCall, Override, OverrideCheck
from rulelang.errors import (
    CheckError,
    EvaluationError,
    FactError,
    ModelBindingFailed,
    ParseError,
    RuleError,
    UsageError,
)
from rulelang.models.base import Answer, CallableModel, Model
from rulelang.program import BindingWarning, CompiledPolicy

__version__ = version("rulelang")

__all__ = [
    "Answer",
    "BindingWarning",
    "CallableModel",
    "CheckError",
    "CompiledPolicy",
    "Decision",
    "EvaluationError",
    "FactError",
    "Firing",
    "Model",
    "ModelBindingFailed",
    "ModelCall",
    "Override",
    "OverrideCheck",
    "ParseError",
    "RuleError",
    "UsageError",
    "load",
    "open_policy",
    "open_source",
]
