"""One knob: `balance` sets every threshold of its table that a profile does not set itself."""

from __future__ import annotations

import pytest

from emr_autoscaler.kernel.config.balance import BALANCE_TABLE, derived
from emr_autoscaler.kernel.config.document import ConfigInvalidError, parse_config
from emr_autoscaler.kernel.config.scaling import ScalingPolicy


def _value(policy: ScalingPolicy, section: str, name: str) -> float:
    value: float = getattr(getattr(policy, section), name)
    return value


@pytest.mark.parametrize("balance", [0, 25, 50, 75, 100])
def test_each_balance_sets_every_threshold_of_the_table(balance: int) -> None:
    policy = ScalingPolicy.model_validate({"balance": balance})
    for (section, name), (cheap, middle, fast) in BALANCE_TABLE.items():
        anchor = {0: cheap, 50: middle, 100: fast}.get(balance)
        value = _value(policy, section, name)
        if anchor is not None:
            assert value == pytest.approx(anchor), (section, name)
        else:  # between anchors: between their values
            low, high = (cheap, middle) if balance < 50 else (middle, fast)
            assert min(low, high) <= value <= max(low, high), (section, name)


def test_cheaper_means_fuller_nodes_and_faster_shrinks() -> None:
    cheap, fast = ScalingPolicy.model_validate({"balance": 0}), ScalingPolicy.model_validate({"balance": 100})
    assert cheap.scale_in.target_utilization_pct > fast.scale_in.target_utilization_pct
    assert cheap.scale_in.stabilization_window_s < fast.scale_in.stabilization_window_s
    assert cheap.scale_out.drain_trust_pct > fast.scale_out.drain_trust_pct


def test_an_explicit_threshold_wins_over_the_balance() -> None:
    policy = ScalingPolicy.model_validate({"balance": 0, "scale_in": {"stabilization_window_s": 900}})
    assert policy.scale_in.stabilization_window_s == 900
    assert policy.scale_in.target_utilization_pct == derived(0)["scale_in"]["target_utilization_pct"]


def test_a_profile_balance_applies_to_what_neither_it_nor_defaults_set() -> None:
    # GIVEN defaults at balance 20 with an explicit window, and a profile at balance 90
    document = parse_config(
        {
            "defaults": {"balance": 20, "scale_in": {"stabilization_window_s": 420}},
            "profiles": {"interactive": {"balance": 90}},
        }
    )

    # THEN the profile's derived thresholds follow 90, the explicit window stays everywhere
    _, interactive, _ = document.policy_for("interactive")
    _, default, _ = document.policy_for(None)
    assert interactive.scale_out.drain_trust_pct == derived(90)["scale_out"]["drain_trust_pct"]
    assert default.scale_out.drain_trust_pct == derived(20)["scale_out"]["drain_trust_pct"]
    assert interactive.scale_in.stabilization_window_s == default.scale_in.stabilization_window_s == 420


@pytest.mark.parametrize("balance", [-1, 101, "high", 50.5])
def test_a_balance_outside_0_100_is_refused_with_its_name(balance: object) -> None:
    with pytest.raises(ConfigInvalidError, match="balance"):
        parse_config({"defaults": {"balance": balance}})
