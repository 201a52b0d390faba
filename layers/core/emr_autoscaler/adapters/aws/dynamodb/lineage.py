"""DynamoLineageStore: the LineageStore port on the state table (pk/sk, TTL attribute `expires_at`).

Items under `pk=CLUSTER#<cluster id>`:
- `sk=STEP#<step id>`: a step this function added, mapped to its original step and attempt (0 for a re-queued
  follower, which has not failed itself). A step with no such item is an original.
- `sk=LINEAGE#<original step id>`: the original's name, the last attempt added and its step ids.
- `sk=LINEAGE#<original step id>#ATTEMPT#<k>`: the claim on adding restart k, written with a conditional put, so
  the restart is added once however often its message is delivered. `status` is ADDING, ADDED or GIVEN_UP.
Every item expires after the TTL (days).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from emr_autoscaler.steps.domain.models import GiveUp, RetryStep, StepLineage
from emr_autoscaler.steps.ports import ClaimOutcome

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ADDING, ADDED, GIVEN_UP = "ADDING", "ADDED", "GIVEN_UP"
# TransactWriteItems takes at most 100 items; the claim and the lineage record take two.
_TRANSACT_MAX = 100


def _pk(cluster_id: str) -> dict[str, str]:
    return {"S": f"CLUSTER#{cluster_id}"}


def _claim_key(retry: RetryStep) -> dict[str, Any]:
    return {
        "pk": _pk(retry.cluster_id),
        "sk": {"S": f"LINEAGE#{retry.original_step_id}#ATTEMPT#{retry.attempt}"},
    }


def _conditional_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoLineageStore:
    """DynamoLineageStore keeps step lineage and restart claims in the state table."""

    def __init__(self, client: DynamoDBClient, table: str, ttl_days: int = 30) -> None:
        self._client = client
        self._table = table
        self._ttl = timedelta(days=ttl_days)

    def _expires(self, now: datetime) -> dict[str, str]:
        return {"N": str(int((now + self._ttl).timestamp()))}

    def lineage(self, cluster_id: str, step_id: str) -> StepLineage | None:
        """Lineage reads `STEP#<step id>` (strongly consistent); None when this function never added the step."""
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": _pk(cluster_id), "sk": {"S": f"STEP#{step_id}"}},
            ConsistentRead=True,
        ).get("Item")
        if not item:
            return None
        return StepLineage(
            cluster_id=cluster_id,
            original_step_id=item["original_step_id"]["S"],
            original_name=item["original_name"]["S"],
            attempt=int(item["attempt"]["N"]),
        )

    def claim(self, retry: RetryStep, now: datetime, lease_s: int) -> tuple[ClaimOutcome, datetime | None]:
        """Claim puts the ADDING claim if none exists, or takes over an ADDING claim older than `lease_s`."""
        try:
            response = self._client.put_item(
                TableName=self._table,
                Item={
                    **_claim_key(retry),
                    "status": {"S": ADDING},
                    "claimed_at": {"S": now.isoformat()},
                    "expires_at": self._expires(now),
                },
                ConditionExpression="attribute_not_exists(pk) OR (#status = :adding AND claimed_at < :stale)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":adding": {"S": ADDING},
                    ":stale": {"S": (now - timedelta(seconds=lease_s)).isoformat()},
                },
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if not _conditional_failure(error):
                raise
            return self._outcome_of(retry), None
        old = response.get("Attributes")
        if old:
            return ClaimOutcome.TAKEN_OVER, datetime.fromisoformat(old["claimed_at"]["S"])
        return ClaimOutcome.CLAIMED, None

    def _outcome_of(self, retry: RetryStep) -> ClaimOutcome:
        item = self._client.get_item(TableName=self._table, Key=_claim_key(retry), ConsistentRead=True).get("Item")
        status = (item or {}).get("status", {}).get("S")
        if status == ADDED:
            return ClaimOutcome.ALREADY_ADDED
        if status == GIVEN_UP:
            return ClaimOutcome.ALREADY_GIVEN_UP
        return ClaimOutcome.IN_PROGRESS

    def release(self, retry: RetryStep, claimed_at: datetime) -> None:
        """Release deletes our ADDING claim (only ours: a taken-over claim has another time)."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=_claim_key(retry),
                ConditionExpression="#status = :adding AND claimed_at = :mine",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":adding": {"S": ADDING}, ":mine": {"S": claimed_at.isoformat()}},
            )
        except ClientError as error:
            if not _conditional_failure(error):
                raise

    def record_added(self, retry: RetryStep, added: Sequence[tuple[str, StepLineage]], now: datetime) -> None:
        """Record_added marks the claim ADDED, updates the lineage record and maps each new step id, in one
        transaction (aliases beyond the transaction's 100 items follow in batches)."""
        expires = self._expires(now)
        step_ids = [step_id for step_id, _ in added]
        items: list[Any] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _claim_key(retry),
                    "UpdateExpression": "SET #status = :added, step_ids = :ids, added_at = :now",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":added": {"S": ADDED},
                        ":ids": {"L": [{"S": s} for s in step_ids]},
                        ":now": {"S": now.isoformat()},
                    },
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": _pk(retry.cluster_id),
                        "sk": {"S": f"LINEAGE#{retry.original_step_id}"},
                        "original_name": {"S": retry.step_name},
                        "last_attempt": {"N": str(retry.attempt)},
                        "max_attempts": {"N": str(retry.max_attempts)},
                        "last_step_ids": {"L": [{"S": s} for s in step_ids]},
                        "updated_at": {"S": now.isoformat()},
                        "expires_at": expires,
                    },
                }
            },
        ]
        aliases = [
            {
                "pk": _pk(retry.cluster_id),
                "sk": {"S": f"STEP#{step_id}"},
                "original_step_id": {"S": lineage.original_step_id},
                "original_name": {"S": lineage.original_name},
                "attempt": {"N": str(lineage.attempt)},
                "expires_at": expires,
            }
            for step_id, lineage in added
        ]
        room = _TRANSACT_MAX - len(items)
        items.extend({"Put": {"TableName": self._table, "Item": alias}} for alias in aliases[:room])
        self._client.transact_write_items(TransactItems=items)
        rest = aliases[room:]
        for start in range(0, len(rest), 25):
            request: Any = {self._table: [{"PutRequest": {"Item": a}} for a in rest[start : start + 25]]}
            while request:
                request = self._client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    def record_given_up(self, retry: RetryStep, decision: GiveUp, now: datetime) -> None:
        """Record_given_up writes the claim as GIVEN_UP with the reason (unless it was added meanwhile)."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **_claim_key(retry),
                    "status": {"S": GIVEN_UP},
                    "reason": {"S": decision.reason.value},
                    "explanation": {"S": decision.explanation},
                    "claimed_at": {"S": now.isoformat()},
                    "expires_at": self._expires(now),
                },
                ConditionExpression="attribute_not_exists(pk) OR #status <> :added",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":added": {"S": ADDED}},
            )
        except ClientError as error:
            if not _conditional_failure(error):
                raise
