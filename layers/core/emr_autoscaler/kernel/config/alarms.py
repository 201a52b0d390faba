"""The `alarms` section of a profile: the per-cluster CloudWatch alarms that wake the scaler."""

from __future__ import annotations

from pydantic import Field

from emr_autoscaler.kernel.models import Frozen


class AlarmThresholds(Frozen):
    """AlarmThresholds: the per-cluster CloudWatch alarms that wake the scaler (5-minute EMR metrics).

    Setting a threshold to null removes that alarm.
    """

    period_s: int = Field(default=300, ge=60)
    container_pending_ratio_high: float | None = Field(default=0.5, gt=0)
    yarn_memory_available_low_pct: float | None = Field(default=15.0, ge=0, le=100)
    idle_periods: int | None = Field(default=3, ge=1, le=288)
    hdfs_utilization_high_pct: float | None = Field(default=80.0, ge=0, le=100)
    unhealthy_nodes_high: int | None = Field(default=0, ge=0)
    lost_nodes_high: int | None = Field(default=0, ge=0)
