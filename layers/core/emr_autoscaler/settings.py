"""Settings: the deployment's wiring, read once from the function's environment (template.yaml sets it).

Thresholds are not here: they live in the configuration document in SSM, so ops change them without a deploy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ENV_PREFIX = "EMR_AUTOSCALER_"


class SettingsError(ValueError):
    """SettingsError: the function's environment is incomplete or invalid (a deployment error)."""


class Settings(BaseModel):
    """Settings names the resources one deployment uses. Environment: EMR_AUTOSCALER_<FIELD in upper case>."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    config_parameter: str = "/emr-autoscaler/config"
    state_table: str = "emr-autoscaler-state"
    alarm_prefix: str = "emr-autoscaler-"
    event_bus: str = "default"
    config_cache_s: int = Field(default=60, ge=0, le=60)
    # The evaluation queue (SQS FIFO) the triggers fan out to; empty: evaluate inline. max_concurrency is its event
    # source mapping's MaximumConcurrency (2..1000), reported as the API budget.
    evaluation_queue_url: str = ""
    max_concurrency: int = Field(default=5, ge=1, le=1000)
    audit_ttl_days: int = Field(default=30, ge=1)
    resourcemanager_port: int = Field(default=8088, gt=0, lt=65536)
    # Notifier: undeliverable messages go to this SQS queue; critical notices that missed a channel go to this topic.
    notification_dlq_url: str = ""
    fallback_topic_arn: str = ""
    notification_budget_s: float = Field(default=4.0, gt=0, le=20)
    # Step retry: the queue that holds restarts during their backoff; Idempotency records live in the state table.
    retry_queue_url: str = ""
    idempotency_ttl_s: int = Field(default=6 * 3600, ge=60)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """From_env reads EMR_AUTOSCALER_* variables; unknown ones are refused, so a typo fails loudly."""
        env = os.environ if environ is None else environ
        values = {key[len(ENV_PREFIX) :].lower(): value for key, value in env.items() if key.startswith(ENV_PREFIX)}
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            problems = "; ".join(
                f"{ENV_PREFIX}{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors()
            )
            raise SettingsError(f"invalid environment: {problems}") from None
