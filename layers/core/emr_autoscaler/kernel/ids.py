"""Identifiers every job shares: EMR's id shapes and the tags the autoscaler reads on a cluster."""

from __future__ import annotations

# EMR cluster and step ids as EMR prints them (`j-` / `s-` and upper-case alphanumerics).
CLUSTER_ID_PATTERN = r"^j-[A-Z0-9]{1,64}$"
STEP_ID_PATTERN = r"^s-[A-Z0-9]{1,64}$"


OPT_IN_TAG = "emr-autoscaler:enabled"


PROFILE_TAG = "emr-autoscaler:profile"


MODE_TAG = "emr-autoscaler:mode"
