"""Identifiers every job shares: EMR's id shapes and the tags the autoscaler reads on a cluster."""

from __future__ import annotations

import re

# EMR cluster and step ids as EMR prints them (`j-` / `s-` and upper-case alphanumerics); match them in full.
CLUSTER_ID = re.compile(r"j-[A-Z0-9]{1,64}")
STEP_ID = re.compile(r"s-[A-Z0-9]{1,64}")


OPT_IN_TAG = "emr-autoscaler:enabled"


PROFILE_TAG = "emr-autoscaler:profile"


MODE_TAG = "emr-autoscaler:mode"
