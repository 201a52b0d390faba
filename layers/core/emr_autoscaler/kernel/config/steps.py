"""The `step_retry` section of a profile: which failed steps are restarted, how often, after what backoff.

Failures are classified by rules (regular expressions over EMR's failure reason and message); the first match
wins. SQS per-message DelaySeconds caps a backoff at 15 minutes (SQS_MAX_DELAY_S).
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator, model_validator

from emr_autoscaler.kernel.models import Frozen

# Only this much of EMR's failure text is searched: bounded regex work, whatever a step prints.
_MAX_TEXT_CHARS = 4096

SQS_MAX_DELAY_S = 900


class FailureClass(StrEnum):
    """FailureClass is what a classification rule says of a failure."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        raise ValueError(f"invalid regular expression {pattern!r}: {error}") from None


class ClassificationRule(Frozen):
    """ClassificationRule: a failure whose `field` text matches `pattern` (case-insensitive search) is `kind`.

    `field` is `reason`, `message` or `any` (either) of the step's Status.FailureDetails.
    """

    name: str = Field(min_length=1)
    pattern: str = Field(min_length=1)
    kind: FailureClass
    field: Literal["reason", "message", "any"] = "any"

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        _compile(value)
        return value

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """Regex is the compiled, case-insensitive pattern."""
        return _compile(self.pattern)

    def matches(self, reason: str, message: str) -> bool:
        """Matches is true when the rule's pattern is found in the field it reads."""
        texts = {"reason": (reason,), "message": (message,), "any": (reason, message)}[self.field]
        return any(self.regex.search(text[:_MAX_TEXT_CHARS]) for text in texts)


def _rule(name: str, pattern: str, kind: FailureClass) -> ClassificationRule:
    return ClassificationRule(name=name, pattern=pattern, kind=kind)


_T, _P = FailureClass.TRANSIENT, FailureClass.PERMANENT

# Order matters, the first match wins. Node loss comes first: a Spot reclaim also surfaces as missing shuffle
# files (FileNotFoundException), which would otherwise read as permanent. Timeouts come last: a timeout next to
# an access-denied message is the access problem.
DEFAULT_RULES: tuple[ClassificationRule, ...] = (
    _rule(
        "node-lost",
        r"lost node|node lost|released on a \*?lost\*? node|container killed by node loss|decommission"
        r"|spot (instance )?interruption|instance was terminated|exit (status|code):? ?-100",
        _T,
    ),
    _rule("s3-slow-down", r"503 slow ?down|slow ?down|status code: ?503|service unavailable", _T),
    _rule(
        "throttling",
        r"throttl|rate exceeded|too many requests|requestlimitexceeded|status code: ?429",
        _T,
    ),
    _rule("class-not-found", r"classnotfoundexception|noclassdeffounderror|class not found", _P),
    _rule(
        "not-found",
        r"filenotfoundexception|no such file or directory|path does not exist|nosuchkey|nosuchbucket"
        r"|table or view not found|table_or_view_not_found|table not found|nosuchtableexception",
        _P,
    ),
    _rule("access-denied", r"access ?denied|accessdeniedexception|permission denied|status code: ?403|forbidden", _P),
    _rule(
        "syntax-or-analysis",
        r"analysisexception|parseexception|syntax ?error|unresolved_column|cannot resolve",
        _P,
    ),
    _rule("timeout", r"timed? ?out|timeoutexception|sockettimeout|connecttimeout", _T),
)


class StepRetryPolicy(Frozen):
    """StepRetryPolicy is one profile's step-restart settings (durations in seconds, `_pct` in percent).

    Clusters opt in with the `emr-autoscaler:enabled=true` tag, as for scaling. A step is considered when its
    name matches one of `include_step_names` (all names when empty) and none of `exclude_step_names`.
    Failures are classified by `extra_rules` then `rules` (the defaults), in order; the first match wins.
    """

    enabled: bool = True
    include_step_names: tuple[str, ...] = ()
    exclude_step_names: tuple[str, ...] = ()
    extra_rules: tuple[ClassificationRule, ...] = ()
    rules: tuple[ClassificationRule, ...] = DEFAULT_RULES
    unknown_failures: Literal["retry", "give_up"] = "give_up"
    max_attempts: int = Field(default=2, ge=0, le=10)
    backoff_base_s: int = Field(default=120, ge=0, le=SQS_MAX_DELAY_S)
    backoff_multiplier: float = Field(default=2.0, ge=1.0, le=10.0)
    backoff_max_s: int = Field(default=SQS_MAX_DELAY_S, ge=0, le=SQS_MAX_DELAY_S)
    jitter_pct: float = Field(default=20.0, ge=0, le=100)

    @field_validator("include_step_names", "exclude_step_names")
    @classmethod
    def _patterns_compile(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            _compile(pattern)
        return value

    @model_validator(mode="after")
    def _base_within_cap(self) -> StepRetryPolicy:
        if self.backoff_base_s > self.backoff_max_s:
            raise ValueError(
                f"backoff_base_s ({self.backoff_base_s}) is greater than backoff_max_s ({self.backoff_max_s})"
            )
        return self

    def selects(self, step_name: str) -> bool:
        """Selects is true when the step's name passes the include and exclude patterns (case-insensitive)."""
        if self.include_step_names and not any(_compile(p).search(step_name) for p in self.include_step_names):
            return False
        return not any(_compile(p).search(step_name) for p in self.exclude_step_names)

    def backoff_s(self, attempt: int, jitter: float) -> int:
        """Backoff_s is the wait before restart `attempt` (1-based), in whole seconds, jitter in [0, 1)."""
        raw = self.backoff_base_s * self.backoff_multiplier ** max(0, attempt - 1)
        capped = min(float(self.backoff_max_s), raw)
        return int(capped * (1.0 - self.jitter_pct / 100.0 * min(max(jitter, 0.0), 1.0)))
