"""LambdaRuntime: calls each template function's real handler as Lambda would, on the sandbox's clock.

Each call runs under the function's own template environment (set for the call, restored after), with a Lambda
context. A handler's exception is what Lambda would make of it: recorded as a failure, shown with its event, and the
event sent to the function's dead-letter queue (asynchronous invocations only: an SQS event source mapping's failed
records stay on their queue, whose redrive policy moves them on). `invoke_many` runs several invocations of one
function at once, in threads, as concurrent Lambda instances.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Any

from emr_autoscaler_dev.sandbox.clock import Clock
from emr_autoscaler_dev.sandbox.functions import SandboxError, SandboxFunction
from emr_autoscaler_dev.sandbox.local_aws import LocalAws


@dataclass(frozen=True)
class Invocation:
    """Invocation is one handler call: when, which function, what it got, what it returned or raised.

    `started_s`/`ended_s` are wall-clock (perf_counter) seconds, to tell which invocations overlapped.
    """

    at: datetime
    function: str
    event: Any
    result: Any = None
    error: str | None = None
    started_s: float = 0.0
    ended_s: float = 0.0


@dataclass
class LambdaContext:
    """LambdaContext is the context object a handler receives (what Powertools reads of it)."""

    function_name: str
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = ""
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_s: int = 60

    def get_remaining_time_in_millis(self) -> int:
        """Get_remaining_time_in_millis: the sandbox never cuts an invocation short."""
        return self.timeout_s * 1000


class LambdaRuntime:
    """LambdaRuntime invokes `functions` and keeps every invocation, and every failed one, in order.

    `environment` is added to every function's own (what the sandbox's stand-ins need, e.g. the ResourceManager
    port); `invocations` and `failures` are the lists it appends to.
    """

    def __init__(
        self,
        functions: dict[str, SandboxFunction],
        aws: LocalAws,
        clock: Clock,
        stack_name: str,
        environment: dict[str, str],
        on_line: Callable[[str], None],
        invocations: list[Invocation],
        failures: list[Invocation],
    ) -> None:
        self.functions = functions
        self.aws = aws
        self.clock = clock
        self.stack_name = stack_name
        self.environment = environment
        self.on_line = on_line
        self.invocations = invocations
        self.failures = failures

    def invoke(self, logical_id: str, event: Any, dead_letter_url: str | None = None) -> Invocation:
        """Invoke calls a function's handler with `event` under its template environment (asynchronously, as
        EventBridge does).

        An exception is recorded, shown with the event, and the event goes to the function's dead-letter
        queue (the trigger's DeadLetterConfig, else its EventInvokeConfig OnFailure), as in AWS.
        """
        function = self.functions[logical_id]
        with self._environment(function):
            invocation = self._call(function, event)
        if invocation.error is not None:
            target = dead_letter_url or function.on_failure_url
            if target:
                self.aws.client("sqs").send_message(QueueUrl=target, MessageBody=json.dumps(event, default=str))
        return invocation

    def invoke_many(self, logical_id: str, events: Sequence[Any]) -> list[Invocation]:
        """Invoke_many calls the handler once per event, all at once (one thread each), synchronously, as an event
        source mapping does with its concurrent batches; a failure is recorded and returned, never dead-lettered."""
        function = self.functions[logical_id]
        if not events:
            return []
        self._module(function)  # load it once, before the threads
        # One environment around all of them: concurrent invocations must not restore it under each other.
        with self._environment(function), ThreadPoolExecutor(len(events), thread_name_prefix=logical_id) as pool:
            return list(pool.map(lambda event: self._call(function, event), events))

    def _call(self, function: SandboxFunction, event: Any) -> Invocation:
        handler = getattr(self._module(function), function.handler)
        started = time.perf_counter()
        try:
            result = handler(event, LambdaContext(function_name=f"{self.stack_name}-{function.logical_id}"))
        except Exception as error:
            invocation = Invocation(
                self.clock.now,
                function.logical_id,
                event,
                error=f"{type(error).__name__}: {error}",
                started_s=started,
                ended_s=time.perf_counter(),
            )
            self.invocations.append(invocation)
            self.failures.append(invocation)
            self.on_line(
                f"{self.clock.now:%H:%M} {function.logical_id} FAILED: {invocation.error}\n"
                f"      event: {json.dumps(event, default=str)[:400]}\n"
                f"      {traceback.format_exc(limit=3).strip().splitlines()[-1]}"
            )
            return invocation
        invocation = Invocation(
            self.clock.now, function.logical_id, event, result=result, started_s=started, ended_s=time.perf_counter()
        )
        self.invocations.append(invocation)
        return invocation

    @property
    def decisions(self) -> list[dict[str, Any]]:
        """Decisions are the scaler's decisions, in order, each with the simulated time it was made."""
        found = []
        for invocation in self.invocations:
            if isinstance(invocation.result, dict):
                for decision in invocation.result.get("decisions", []) or []:
                    found.append({"at": invocation.at.isoformat(), "function": invocation.function, **decision})
        return found

    def dead_letters(self) -> dict[str, list[Any]]:
        """Dead_letters returns, per template queue used as a dead-letter queue, the messages it holds."""
        sqs = self.aws.client("sqs")
        found: dict[str, list[Any]] = {}
        urls = {s.dead_letter_url for f in self.functions.values() for s in f.sources if s.dead_letter_url}
        urls |= {f.on_failure_url for f in self.functions.values() if f.on_failure_url}
        for url in sorted(u for u in urls if u):
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
                "Messages", []
            )
            found[url.rsplit("/", 1)[1]] = [_json_or_text(m["Body"]) for m in messages]
        return found

    @contextmanager
    def _environment(self, function: SandboxFunction) -> Iterator[None]:
        env = {**function.environment, **self.environment}
        env.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        env.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def _module(self, function: SandboxFunction) -> ModuleType:
        # Each function loads its own app.py under its own name: every function's file is called app.py.
        if function.module is None:
            spec = importlib.util.spec_from_file_location(f"sandbox_{function.logical_id}", function.path)
            if spec is None or spec.loader is None:
                raise SandboxError(f"{function.logical_id}: cannot load {function.path}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            function.module = module
        return function.module


def _json_or_text(body: str) -> Any:
    """A dead letter's body as JSON, or as the text it is (a malformed message keeps its shape)."""
    try:
        return json.loads(body)
    except ValueError:
        return body
