"""rulelang: a readable, terminating policy language for production ML.

    policy = rulelang.load("pricing.rule", models={"fraud_risk": my_scorer})
    decision = policy.decide({"item": {...}, "customer": {...}, "order": {...}})
"""

from rulelang.decision import Decision, Firing, ModelCall, Override, OverrideCheck
from rulelang.errors import (
    CheckError,
    EvaluationError,
    FactError,
    ModelBindingFailed,
    ParseError,
    RuleError,
)
from rulelang.models.base import Answer, CallableModel, Model
from rulelang.program import CompiledPolicy, load, load_source

__version__ = "0.1.0"

__all__ = [
    "Answer",
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
    "load",
    "load_source",
]
