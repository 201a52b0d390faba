"""The pure core: models, policies and decisions. Nothing here calls AWS, reads the clock or the environment."""

from emr_autoscaler.domain.config import ConfigDocument, ConfigInvalidError, parse_config, parse_config_text
from emr_autoscaler.domain.decisions import (
    Direction,
    GuardCheck,
    ReasonCode,
    ResizeInstanceGroup,
    ResizePlan,
    ScalingState,
)
from emr_autoscaler.domain.models import (
    ClusterSnapshot,
    ClusterState,
    GroupRole,
    GroupState,
    InstanceGroupCapacity,
    MetricsSource,
    YarnMetrics,
)
from emr_autoscaler.domain.policy import ScalingPolicy
from emr_autoscaler.domain.scaling import plan_resize

__all__ = [
    "ClusterSnapshot",
    "ClusterState",
    "ConfigDocument",
    "ConfigInvalidError",
    "Direction",
    "GroupRole",
    "GroupState",
    "GuardCheck",
    "InstanceGroupCapacity",
    "MetricsSource",
    "ReasonCode",
    "ResizeInstanceGroup",
    "ResizePlan",
    "ScalingPolicy",
    "ScalingState",
    "YarnMetrics",
    "parse_config",
    "parse_config_text",
    "plan_resize",
]
