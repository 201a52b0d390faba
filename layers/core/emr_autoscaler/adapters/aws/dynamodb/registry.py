"""DynamoRegistry: the registry of watched clusters, in the state table under one partition (`pk=REGISTRY`).

One Query lists every registered cluster, so the every-minute tick costs one call instead of ListClusters plus a
DescribeCluster per cluster in the account.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from emr_autoscaler.kernel.models import RegisteredCluster

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REGISTRY_PK = "REGISTRY"


class DynamoRegistry:
    """DynamoRegistry registers, lists and unregisters watched clusters."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def register(self, cluster: RegisteredCluster) -> None:
        """Register writes (or refreshes) the cluster's registry entry."""
        item: dict[str, Any] = {
            "pk": {"S": REGISTRY_PK},
            "sk": {"S": f"CLUSTER#{cluster.cluster_id}"},
            "cluster_id": {"S": cluster.cluster_id},
            "name": {"S": cluster.name},
            "state": {"S": cluster.state},
            "registered_at": {"S": cluster.registered_at.isoformat()},
        }
        if cluster.profile:
            item["profile"] = {"S": cluster.profile}
        self._client.put_item(TableName=self._table, Item=item)

    def unregister(self, cluster_id: str) -> None:
        """Unregister removes the cluster's entry (no error if it was not registered)."""
        self._client.delete_item(
            TableName=self._table, Key={"pk": {"S": REGISTRY_PK}, "sk": {"S": f"CLUSTER#{cluster_id}"}}
        )

    def registered(self) -> list[RegisteredCluster]:
        """Registered lists every registered cluster (all pages)."""
        clusters: list[RegisteredCluster] = []
        for page in self._client.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": REGISTRY_PK}},
        ):
            for item in page.get("Items", []):
                clusters.append(
                    RegisteredCluster(
                        cluster_id=item["cluster_id"]["S"],
                        name=item.get("name", {}).get("S", ""),
                        profile=item.get("profile", {}).get("S"),
                        state=item.get("state", {}).get("S", ""),
                        registered_at=datetime.fromisoformat(item["registered_at"]["S"]),
                    )
                )
        return clusters
