"""Speed-ups of moto for a thousand clusters: the same answers, without moto's linear scans on hot paths.

moto's EC2 finds an instance by scanning every instance of the account (EMR's RunJobFlow does it per node: a
thousand clusters cost minutes), and its SQS reads the clock through a datetime round trip for every message on
every receive. Both are replaced by equivalent code while the sandbox runs: the newest reservation is looked at
first (ids are unique, so the instance found is the same), and the clock is `time.time()` (moto's own helpers
compute the same seconds since the epoch).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any


def speed_up_moto() -> Callable[[], None]:
    """Speed_up_moto installs the speed-ups and returns the function that restores moto."""
    from moto.ec2.models.instances import InstanceBackend
    from moto.sqs import models as sqs_models

    saved_get_instance = InstanceBackend.get_instance
    saved_unix_time = getattr(sqs_models, "unix_time")  # noqa: B009 - moto does not export it
    saved_unix_time_millis = getattr(sqs_models, "unix_time_millis")  # noqa: B009

    def get_instance(self: Any, instance_id: str) -> Any:
        for reservation in reversed(self.reservations.values()):
            for instance in reservation.instances:
                if instance.id == instance_id:
                    return instance
        return saved_get_instance(self, instance_id)  # raises moto's own error

    def unix_time(dt: datetime | None = None) -> float:
        return time.time() if dt is None else saved_unix_time(dt)

    def unix_time_millis(dt: datetime | None = None) -> float:
        return time.time() * 1000.0 if dt is None else saved_unix_time_millis(dt)

    InstanceBackend.get_instance = get_instance  # type: ignore[method-assign]
    setattr(sqs_models, "unix_time", unix_time)  # noqa: B010 - moto does not export it
    setattr(sqs_models, "unix_time_millis", unix_time_millis)  # noqa: B010

    def restore() -> None:
        InstanceBackend.get_instance = saved_get_instance  # type: ignore[method-assign]
        setattr(sqs_models, "unix_time", saved_unix_time)  # noqa: B010
        setattr(sqs_models, "unix_time_millis", saved_unix_time_millis)  # noqa: B010

    return restore
