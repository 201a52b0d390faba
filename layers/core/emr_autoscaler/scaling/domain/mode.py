"""The cluster's operating mode: its tag wins over its profile; an unreadable tag means `observe`."""

from __future__ import annotations

from emr_autoscaler.kernel.config.scaling import Mode
from emr_autoscaler.kernel.ids import MODE_TAG


def resolve_mode(tags: dict[str, str], profile_mode: Mode) -> tuple[Mode, str]:
    """Resolve_mode returns the cluster's mode and where it came from: its tag wins over its profile.

    An unreadable tag value falls back to the safest mode, `observe`, rather than acting on a typo.
    """
    raw = tags.get(MODE_TAG)
    if raw is None:
        return profile_mode, "profile"
    value = raw.strip().lower()
    if value in Mode.__members__.values():
        return Mode(value), f"tag {MODE_TAG}"
    return Mode.OBSERVE, f"tag {MODE_TAG}={raw!r} is not active/observe/paused"
