"""The `step_retry` section of a profile: which failed steps are restarted, how often, after what backoff.

Failures are classified by rules (regular expressions) over the evidence of a failure: EMR's FailureDetails
(`reason`, `message`), the YARN application's `diagnostics` (ResourceManager REST API) and the tail of the step's
`log` files in S3; the first match wins. SQS per-message DelaySeconds caps a backoff (and a wait for evidence) at
15 minutes (SQS_MAX_DELAY_S).
"""

from __future__ import annotations

import fnmatch
import re
from enum import StrEnum
from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator, model_validator

from emr_autoscaler.kernel.models import Frozen

# Only this much of EMR's FailureDetails text is searched: bounded regex work, whatever a step prints.
_MAX_TEXT_CHARS = 4096
# A YARN diagnostics text or a log tail is searched up to this many characters (the adapters keep the last 256 KiB).
MAX_EVIDENCE_CHARS = 256 * 1024
# The quoted line of a classification is cut to this many characters.
_MAX_LINE_CHARS = 300

SQS_MAX_DELAY_S = 900

# The fields a rule can read, by source: FailureDetails `reason`/`message`, YARN `diagnostics`, the step's `log`.
RuleField = Literal["reason", "message", "diagnostics", "log", "any"]


class FailureClass(StrEnum):
    """FailureClass is what a classification rule says of a failure."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        raise ValueError(f"invalid regular expression {pattern!r}: {error}") from None


def _line_at(text: str, start: int, end: int) -> str:
    """_Line_at is the line of `text` holding the match [start, end), stripped; a long line is cut to a window of
    _MAX_LINE_CHARS around the match (Spark puts a whole stage failure on one line)."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    if len(line.strip()) <= _MAX_LINE_CHARS:
        return line.strip()
    # A third of the window before the match, or as much as fits when the match ends the line.
    lead = max(0, min(start - line_start - _MAX_LINE_CHARS // 3, len(line.rstrip()) - (_MAX_LINE_CHARS - 6)))
    if lead:
        # Start the window on a word: the quoted text reads as words, not a cut token.
        space = line.find(" ", lead, start - line_start)
        lead = space + 1 if space >= 0 else lead
    tail = lead + _MAX_LINE_CHARS - 6
    window = line[lead:tail].strip()
    return ("..." if lead else "") + window + ("..." if tail < len(line.rstrip()) else "")


class ClassificationRule(Frozen):
    """ClassificationRule: a failure whose `field` text matches `pattern` (case-insensitive search) is `kind`.

    `field` names what the rule reads: `reason` or `message` of the step's Status.FailureDetails, the YARN
    application's `diagnostics`, the step's `log` files (stderr, controller), or `any` of them.
    """

    name: str = Field(min_length=1)
    pattern: str = Field(min_length=1)
    kind: FailureClass
    field: RuleField = "any"

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        _compile(value)
        return value

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """Regex is the compiled, case-insensitive pattern."""
        return _compile(self.pattern)

    def reads(self, field: str) -> bool:
        """Reads is true when the rule looks at texts of this field."""
        return self.field in ("any", field)

    def matching_line(self, field: str, text: str) -> str | None:
        """Matching_line returns the line of `text` where the rule's pattern last matches, or None.

        The last match, because a log ends with the error that stopped the step. FailureDetails texts are searched
        in their first 4096 characters, other texts in their last MAX_EVIDENCE_CHARS.
        """
        if not self.reads(field) or not text:
            return None
        bounded = text[:_MAX_TEXT_CHARS] if field in ("reason", "message") else text[-MAX_EVIDENCE_CHARS:]
        last: re.Match[str] | None = None
        for last in self.regex.finditer(bounded):  # noqa: B007 - the loop keeps the last match
            pass
        if last is None:
            return None
        return _line_at(bounded, last.start(), last.end())

    def matches(self, reason: str, message: str) -> bool:
        """Matches is true when the rule's pattern is found in the FailureDetails field it reads."""
        return any(self.matching_line(f, t) is not None for f, t in (("reason", reason), ("message", message)))


def _rule(name: str, pattern: str, kind: FailureClass, field: RuleField = "any") -> ClassificationRule:
    return ClassificationRule(name=name, pattern=pattern, kind=kind, field=field)


_T, _P = FailureClass.TRANSIENT, FailureClass.PERMANENT

# Order matters, the first match wins. Node loss comes first: a Spot reclaim also surfaces as missing shuffle
# files (FileNotFoundException, FetchFailedException), which would otherwise read as permanent. Timeouts come last:
# a timeout next to an access-denied message is the access problem. The texts are those Hadoop and Spark print:
# - YARN's SchedulerUtils.LOST_CONTAINER "Container released on a *lost* node" with ContainerExitStatus.ABORTED
#   (-100), PREEMPTED (-102); https://github.com/apache/hadoop (hadoop-yarn-server-resourcemanager SchedulerUtils)
# - Spark's ExecutorLostFailure "(executor N exited caused by one of the running tasks) Reason: Container marked as
#   failed: ... Exit status: -100. Diagnostics: ..." and YarnAllocator's "Container killed by YARN for exceeding
#   memory limits" (exit 137 = SIGKILL, 143 = SIGTERM "Container killed on request. Exit code is 143");
#   https://github.com/apache/spark (resource-managers/yarn YarnAllocator.scala, TaskEndReason.scala)
# - EMR's decommissioning of Spot nodes ("Spot instance interruption", "decommission").
DEFAULT_RULES: tuple[ClassificationRule, ...] = (
    _rule(
        "node-lost",
        r"lost node|node lost|released on a \*?lost\*? node|container killed by node loss|decommission"
        r"|spot (instance )?(interruption|reclaim)|instance was terminated|exit (status|code)(:| is)? ?-10[02]\b"
        r"|container preempted by scheduler|executor heartbeat timed out",
        _T,
    ),
    _rule(
        "yarn-container-killed",
        r"container killed by yarn for exceeding|killed by external signal"
        r"|container killed on request\. exit code is 1(37|43)|exit (status|code)(:| is)? ?1(37|43)\b",
        _T,
    ),
    _rule(
        "shuffle-fetch-failed",
        r"fetchfailedexception|metadatafetchfailedexception|missing an output location for shuffle"
        r"|failed to connect to .*:7337|shuffle ?block ?fetch",
        _T,
    ),
    _rule(
        "s3-slow-down",
        r"503 slow ?down|slow ?down|status code: ?503|service unavailable|please reduce your request rate",
        _T,
    ),
    _rule(
        "throttling",
        r"throttl|rate exceeded|too many requests|requestlimitexceeded|status code: ?429",
        _T,
    ),
    _rule(
        "class-not-found",
        r"classnotfoundexception|noclassdeffounderror|class not found|modulenotfounderror|no module named",
        _P,
    ),
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
    When FailureDetails classify nothing and the step's logs are not in S3 yet (EMR archives them about every five
    minutes), the decision waits `evidence_wait_s` for them, at most `evidence_max_waits` times. A step that ran
    with a runtime role (ExecutionRoleArn) is restarted with it only when one of `execution_roles` (ARN patterns,
    `*` and `?` wildcards) names it; the stack's StepExecutionRoleArns parameter must allow passing it too.
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
    evidence_wait_s: int = Field(default=300, ge=30, le=SQS_MAX_DELAY_S)
    evidence_max_waits: int = Field(default=2, ge=0, le=5)
    execution_roles: tuple[str, ...] = ()

    @field_validator("execution_roles")
    @classmethod
    def _role_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            if not pattern.startswith("arn:"):
                raise ValueError(f"execution role pattern {pattern!r} is not an ARN (arn:...:iam::<account>:role/...)")
        return value

    def allows_role(self, role_arn: str) -> bool:
        """Allows_role is true when one of `execution_roles` (case-sensitive, `*`/`?` wildcards) matches the ARN."""
        return any(fnmatch.fnmatchcase(role_arn, pattern) for pattern in self.execution_roles)

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
