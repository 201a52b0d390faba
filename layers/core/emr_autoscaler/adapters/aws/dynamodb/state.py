"""DynamoStateStore: the StateStore port on one DynamoDB table (pk/sk, TTL attribute `expires_at`).

Items: `pk=CLUSTER#<id>, sk=STATE` holds the ScalingState with a `version`; `sk=DECISION#<time>#<n>` are audit
records that expire after the TTL. State writes are conditional on the version the writer read.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel

from emr_autoscaler.scaling.domain.decisions import (
    FleetMemory,
    InterruptionCount,
    ManagedScalingMemory,
    Outcome,
    ReasonCode,
    Replacement,
    ResizePlan,
    ScalingState,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STATE_SK = "STATE"


def _pk(cluster_id: str) -> str:
    return f"CLUSTER#{cluster_id}"


def _time(value: Any) -> datetime | None:
    text = value.get("S") if isinstance(value, dict) else None
    return datetime.fromisoformat(text) if text else None


def _number(value: Any) -> str | None:
    text = value.get("N") if isinstance(value, dict) else None
    return text if isinstance(text, str) and text else None


def _int(value: Any) -> int | None:
    text = _number(value)
    return int(float(text)) if text is not None else None


def _float(value: Any) -> float | None:
    text = _number(value)
    return float(text) if text is not None else None


def _reason(value: Any) -> ReasonCode | None:
    text = value.get("S") if isinstance(value, dict) else None
    # A code written by a newer release and unknown here reads as "no previous reason": at worst one extra notice.
    return ReasonCode(text) if isinstance(text, str) and text in ReasonCode.__members__ else None


def _models[M: BaseModel](value: Any, model: type[M]) -> tuple[M, ...]:
    """A JSON list of models stored as a string attribute (the fleets' Spot memory, replacements, interruptions)."""
    text = value.get("S") if isinstance(value, dict) else None
    if not isinstance(text, str):
        return ()
    try:
        return tuple(model.model_validate(entry) for entry in json.loads(text))
    except (ValueError, TypeError):
        # Written by another release: forgetting it at worst delays one fallback, give-back or replacement.
        return ()


_MODEL_LISTS = ("fleets", "replacements", "interruptions")


def _managed_scaling(value: Any) -> ManagedScalingMemory | None:
    """The managed scaling memory, stored as a JSON string attribute (None when absent or unreadable: the policy
    the scaler reads next is then taken as the team's)."""
    text = value.get("S") if isinstance(value, dict) else None
    if not isinstance(text, str):
        return None
    try:
        return ManagedScalingMemory.model_validate_json(text)
    except ValueError:
        return None


def _put_time(item: dict[str, Any], key: str, value: datetime | None) -> None:
    if value is not None:
        item[key] = {"S": value.isoformat()}


class DynamoStateStore:
    """DynamoStateStore keeps ScalingState per cluster and a decision audit trail with a TTL."""

    def __init__(self, client: DynamoDBClient, table: str, audit_ttl_days: int = 30) -> None:
        self._client = client
        self._table = table
        self._ttl = timedelta(days=audit_ttl_days)

    def load(self, cluster_id: str) -> ScalingState:
        """Load reads the cluster's state with a strongly consistent read (version 0 when absent)."""
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": _pk(cluster_id)}, "sk": {"S": STATE_SK}},
            ConsistentRead=True,
        ).get("Item")
        if not item:
            return ScalingState(cluster_id=cluster_id)
        return ScalingState(
            cluster_id=cluster_id,
            version=int(item["version"]["N"]),
            last_scale_out_at=_time(item.get("last_scale_out_at")),
            last_scale_in_at=_time(item.get("last_scale_in_at")),
            low_utilization_since=_time(item.get("low_utilization_since")),
            last_decision_id=item.get("last_decision_id", {}).get("S"),
            last_reason=_reason(item.get("last_reason")),
            last_pending_mb=_int(item.get("last_pending_mb")),
            last_read_at=_time(item.get("last_read_at")),
            backlog_kept=_float(item.get("backlog_kept")),
            in_flight_since=_time(item.get("in_flight_since")),
            start_delay_s=_float(item.get("start_delay_s")),
            demand_peak_mb=_int(item.get("demand_peak_mb")),
            demand_peak_at=_time(item.get("demand_peak_at")),
            fleets=_models(item.get("fleets"), FleetMemory),
            replacements=_models(item.get("replacements"), Replacement),
            interruptions=_models(item.get("interruptions"), InterruptionCount),
            managed_scaling=_managed_scaling(item.get("managed_scaling")),
        )

    def save(self, state: ScalingState, expected_version: int) -> bool:
        """Save writes `state` as version expected_version + 1 if the stored version is still expected_version."""
        item: dict[str, Any] = {
            "pk": {"S": _pk(state.cluster_id)},
            "sk": {"S": STATE_SK},
            "version": {"N": str(expected_version + 1)},
        }
        _put_time(item, "last_scale_out_at", state.last_scale_out_at)
        _put_time(item, "last_scale_in_at", state.last_scale_in_at)
        _put_time(item, "low_utilization_since", state.low_utilization_since)
        _put_time(item, "last_read_at", state.last_read_at)
        _put_time(item, "in_flight_since", state.in_flight_since)
        _put_time(item, "demand_peak_at", state.demand_peak_at)
        for name in ("last_pending_mb", "backlog_kept", "start_delay_s", "demand_peak_mb"):
            value = getattr(state, name)
            if value is not None:
                item[name] = {"N": str(value)}
        if state.last_decision_id:
            item["last_decision_id"] = {"S": state.last_decision_id}
        if state.last_reason is not None:
            item["last_reason"] = {"S": state.last_reason.value}
        for name in _MODEL_LISTS:
            entries = getattr(state, name)
            if entries:
                item[name] = {"S": json.dumps([e.model_dump(mode="json") for e in entries])}
        if state.managed_scaling is not None:
            item["managed_scaling"] = {"S": state.managed_scaling.model_dump_json()}
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR version = :expected",
                ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def record(self, plan: ResizePlan, outcome: Outcome) -> None:
        """Record writes one audit item for the decision; it expires `audit_ttl_days` after the decision."""
        at = plan.decided_at
        expires = int((at + self._ttl).timestamp())
        body: dict[str, Any] = {
            "reason": plan.reason.value,
            "explanation": plan.explanation,
            "outcome": outcome.value,
            "commands": [c.model_dump(mode="json") for c in plan.commands],
            "checks": [c.model_dump(mode="json") for c in plan.checks],
        }
        if plan.managed_scaling is not None:
            body["managed_scaling"] = plan.managed_scaling.model_dump(mode="json")
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": _pk(plan.cluster_id)},
                "sk": {"S": f"DECISION#{at.isoformat()}#{plan.next_state.last_decision_id or '-'}"},
                "reason": {"S": plan.reason.value},
                "outcome": {"S": outcome.value},
                "decision": {"S": json.dumps(body, ensure_ascii=False)},
                "expires_at": {"N": str(expires)},
            },
        )

    def decisions(self, cluster_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """Decisions returns the newest audit records of a cluster, newest first (for `explain` and the sandbox)."""
        items = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": _pk(cluster_id)}, ":prefix": {"S": "DECISION#"}},
            ScanIndexForward=False,
            Limit=limit,
        ).get("Items", [])
        return [json.loads(i["decision"]["S"]) | {"at": i["sk"]["S"].split("#")[1]} for i in items]
