"""DynamoDedupStore: fold identical notices within a window, on the state table, with conditional writes.

One item per (cluster, kind, reason): `pk=CLUSTER#<id>` (or `NOTICE#global` for notices about no cluster),
`sk=DEDUP#<kind>#<reason>`, attributes `window_start` (Unix seconds of the last message sent), `folded` (notices
folded since), `event_id` (the event that sent it) and the TTL `expires_at`.

Claiming a window is one conditional UpdateItem: it succeeds only if no window is open, or it is a retry of the
event that opened it whose delivery did not finish (the invocation failed and released its lease, or died and its
lease ran out). Two notifier invocations racing on the same notice send one message; the loser folds with a second
conditional UpdateItem that adds one to `folded`. The same event delivered again after its message went out (or
while it is going out) sends nothing: `delivered` marks the window done, `lease_until` marks it in progress.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from emr_autoscaler.notifications.domain.notice import Notice
from emr_autoscaler.notifications.ports import DedupClaim

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# A folded count is reported by the next message after its window; keep it that long at most.
_KEEP_AFTER_WINDOW_S = 7 * 86400
# How long a claim stays "in progress" if its invocation dies without releasing it: longer than the notifier's
# timeout (60 s), so a duplicate arriving meanwhile never sends a second message.
LEASE_S = 120


def _conditional_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def dedup_key(notice: Notice) -> dict[str, Any]:
    """Dedup_key is the item key of the notice's (cluster, kind, reason)."""
    pk = f"CLUSTER#{notice.cluster_id}" if notice.cluster_id else "NOTICE#global"
    return {"pk": {"S": pk}, "sk": {"S": f"DEDUP#{notice.kind.value}#{notice.dedup_reason}"}}


class DynamoDedupStore:
    """DynamoDedupStore decides send-or-fold for each notice, safely under concurrent invocations."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def claim(self, notice: Notice, window_s: int, now: datetime) -> DedupClaim:
        """Claim opens a window for the notice (send), or folds it into the open one (do not send).

        A retry of the event that opened the window sends again only when its first delivery did not finish;
        a duplicate of an event already delivered (or being delivered) sends nothing and folds nothing.
        """
        key = dedup_key(notice)
        at = int(now.timestamp())
        for _ in range(3):
            try:
                old = self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression=(
                        "SET window_start = :now, folded = :zero, event_id = :id, expires_at = :exp, "
                        "lease_until = :lease REMOVE delivered"
                    ),
                    ConditionExpression=(
                        "attribute_not_exists(pk) OR window_start <= :cutoff OR (event_id = :id "
                        "AND attribute_not_exists(delivered) AND (attribute_not_exists(lease_until) "
                        "OR lease_until <= :now))"
                    ),
                    ExpressionAttributeValues={
                        ":now": {"N": str(at)},
                        ":zero": {"N": "0"},
                        ":id": {"S": notice.event_id},
                        ":exp": {"N": str(at + window_s + _KEEP_AFTER_WINDOW_S)},
                        ":cutoff": {"N": str(at - window_s)},
                        ":lease": {"N": str(at + LEASE_S)},
                    },
                    ReturnValues="ALL_OLD",
                ).get("Attributes", {})
            except ClientError as error:
                if not _conditional_failed(error):
                    raise
            else:
                retry = old.get("event_id", {}).get("S") == notice.event_id
                return DedupClaim(send=True, folded_before=0 if retry else int(old.get("folded", {}).get("N", "0")))
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression="ADD folded :one",
                    ConditionExpression="window_start > :cutoff AND event_id <> :id",
                    ExpressionAttributeValues={
                        ":one": {"N": "1"},
                        ":cutoff": {"N": str(at - window_s)},
                        ":id": {"S": notice.event_id},
                    },
                )
            except ClientError as error:
                if not _conditional_failed(error):
                    raise
                if self._opened_by(key, notice.event_id):
                    # The same event again, while or after its message goes out: nothing to send or fold.
                    return DedupClaim(send=False, duplicate=True)
                # The window closed between the two writes: try to claim again.
                continue
            return DedupClaim(send=False)
        # Three lost races in a row: sending twice is better than losing the message.
        return DedupClaim(send=True)

    def _opened_by(self, key: dict[str, Any], event_id: str) -> bool:
        item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item", {})
        return bool(item.get("event_id", {}).get("S") == event_id)

    def delivered(self, notice: Notice) -> None:
        """Delivered marks the window's message as sent: the same event delivered again sends nothing."""
        self._finish(notice, "SET delivered = :true REMOVE lease_until", {":true": {"BOOL": True}})

    def release(self, notice: Notice) -> None:
        """Release ends an unfinished claim at once (the invocation failed): its retry may send again."""
        self._finish(notice, "REMOVE lease_until", {})

    def _finish(self, notice: Notice, update: str, values: dict[str, Any]) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=dedup_key(notice),
                UpdateExpression=update,
                ConditionExpression="event_id = :id",
                ExpressionAttributeValues={":id": {"S": notice.event_id}, **values},
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise
            # A later window replaced ours: nothing of ours to mark.
