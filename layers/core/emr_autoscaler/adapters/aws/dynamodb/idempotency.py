"""PowertoolsOnceGuard: the OnceGuard port on Powertools Idempotency, records in the state table.

Records go under `pk=IDEMPOTENCY#step-retry`, `sk=step-retry.failure#<hash of (cluster id, step id)>`, and expire
through the table's TTL attribute `expires_at`. A duplicate delivered after the first finished returns the first
result; one delivered while the first is still running fails with IdempotencyAlreadyInProgressError, so Lambda
retries it later and it then returns the first result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

IDEMPOTENCY_PK = "IDEMPOTENCY#step-retry"
KEY_PREFIX = "step-retry.failure"


class PowertoolsOnceGuard:
    """PowertoolsOnceGuard runs a function once per (cluster_id, step_id) of its `event` keyword argument."""

    def __init__(self, client: DynamoDBClient, table: str, expires_after_s: int) -> None:
        self.persistence = DynamoDBPersistenceLayer(
            table_name=table,
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value=IDEMPOTENCY_PK,
            expiry_attr="expires_at",
            boto3_client=client,
        )
        self.config = IdempotencyConfig(
            event_key_jmespath="[cluster_id, step_id]",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_s,
        )

    def wrap(self, function: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        """Wrap guards `function` (called with keyword `event`) with Powertools' idempotent_function."""
        guarded: Callable[..., dict[str, Any]] = idempotent_function(
            function,
            data_keyword_argument="event",
            persistence_store=self.persistence,
            config=self.config,
            key_prefix=KEY_PREFIX,
        )
        return guarded

    def register_context(self, context: Any) -> None:
        """Register_context lets Powertools bound an in-progress record by the invocation's remaining time."""
        if context is not None and hasattr(context, "get_remaining_time_in_millis"):
            self.config.register_lambda_context(context)
