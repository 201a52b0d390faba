"""node_labels_from: where a cluster's YARN pins ApplicationMasters, read from its EMR configuration.

EMR takes YARN settings as the `yarn-site` classification of the cluster's Configurations (DescribeCluster's
`Configurations`, https://docs.aws.amazon.com/emr/latest/APIReference/API_Configuration.html). Two properties say
where AMs run: `yarn.node-labels.enabled` and `yarn.node-labels.am.default-node-label-expression`. EMR 5.19 and later
5.x releases turn labels on by default with AMs on CORE nodes; 6.x and later leave them off
(https://repost.aws/knowledge-center/emr-configure-node-labeling-yarn); EMR 7.2 and later can pin AMs to On-Demand
nodes with the ON_DEMAND label ("Enhance Amazon EMR scaling capabilities with Application Master Placement",
https://aws.amazon.com/blogs/big-data/enhance-amazon-emr-scaling-capabilities-with-application-master-placement).

A configuration the scaler cannot read (a value that is not true/false, an expression with operators, a label EMR
does not assign to a node type) is `unreadable`: the scaler then ignores labels, as it did before, and says so once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from emr_autoscaler.kernel.models import NodeLabels

ENABLED = "yarn.node-labels.enabled"
AM_EXPRESSION = "yarn.node-labels.am.default-node-label-expression"
# The labels EMR itself puts on nodes: CORE on core nodes, ON_DEMAND on On-Demand nodes (7.2+).
KNOWN_LABELS = ("CORE", "ON_DEMAND")
_LABEL = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_EMR_5_RELEASE = re.compile(r"^emr-5\.(\d+)\.")


def _yarn_site(configurations: Sequence[Any]) -> dict[str, Any] | None:
    """The yarn-site properties of a Configurations list (later entries win), or None when there is none."""
    found: dict[str, Any] | None = None
    for entry in configurations:
        if isinstance(entry, dict) and entry.get("Classification") == "yarn-site":
            properties = entry.get("Properties") or {}
            if not isinstance(properties, dict):
                raise ValueError("the yarn-site classification's Properties is not a map")
            found = {**(found or {}), **properties}
    return found


def node_labels_from(configurations: Any, release_label: str | None) -> NodeLabels:
    """Node_labels_from reads where AMs are pinned from a cluster's Configurations and release label."""
    if configurations is not None and not isinstance(configurations, list | tuple):
        return NodeLabels(unreadable="Configurations is not a list")
    try:
        site = _yarn_site(configurations or []) or {}
    except ValueError as error:
        return NodeLabels(unreadable=str(error))
    enabled_raw = site.get(ENABLED)
    expression_raw = site.get(AM_EXPRESSION)
    if enabled_raw is None and expression_raw is None:
        release = _EMR_5_RELEASE.match(release_label or "")
        # EMR 5.19+ sets both by default; without a yarn-site override its AMs run on CORE nodes.
        return NodeLabels(am_label="CORE") if release and int(release.group(1)) >= 19 else NodeLabels()
    enabled = str(enabled_raw).strip().lower() if enabled_raw is not None else "true"
    if enabled not in ("true", "false"):
        return NodeLabels(unreadable=f"{ENABLED} is {enabled_raw!r}, neither true nor false")
    expression = str(expression_raw or "").strip().strip("'\"")
    if enabled == "false" or not expression:
        return NodeLabels()
    if not _LABEL.match(expression):
        return NodeLabels(unreadable=f"{AM_EXPRESSION} is {expression_raw!r}, not a single node label")
    if expression.upper() not in KNOWN_LABELS:
        return NodeLabels(
            unreadable=f"{AM_EXPRESSION} is {expression!r}, a label EMR does not put on a node type "
            f"({' or '.join(KNOWN_LABELS)}), so the scaler cannot tell which group carries it"
        )
    return NodeLabels(am_label=expression.upper())
