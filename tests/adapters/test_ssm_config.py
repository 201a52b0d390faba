"""SsmConfigSource under moto through Powertools Parameters: cache, refusal, last good document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters import SSMProvider
from moto import mock_aws

from emr_autoscaler.adapters.aws.ssm_config import SsmConfigSource
from emr_autoscaler.kernel.config.document import ConfigInvalidError

NAME = "/emr-autoscaler/config"
VALID = """\
version: 1
defaults:
  scale_out: {max_step_nodes: 4}
profiles:
  etl: {groups: {task: {max_nodes: 40, min_nodes: 0}}}
"""
INVALID = "version: 1\ndefaults:\n  groups: {task: {min_nodes: 9, max_nodes: 3}}\n"


@pytest.fixture
def ssm() -> Iterator[Any]:
    parameters.clear_caches()
    with mock_aws():
        yield boto3.client("ssm", region_name="eu-west-1")
    parameters.clear_caches()


def _source(ssm: Any, refused: list[str], max_age_s: int = 0) -> SsmConfigSource:
    return SsmConfigSource(SSMProvider(boto3_client=ssm), NAME, max_age_s=max_age_s, on_invalid=refused.append)


def test_reads_and_validates_the_document(ssm: Any) -> None:
    # GIVEN a valid document in SSM
    ssm.put_parameter(Name=NAME, Value=VALID, Type="String")
    # WHEN read
    document = _source(ssm, []).current()
    # THEN profiles are resolved over the defaults
    _, etl, unknown = document.policy_for("etl")
    assert not unknown
    assert etl.groups.task.max_nodes == 40
    assert etl.scale_out.max_step_nodes == 4


def test_invalid_edit_keeps_last_good_and_reports_once(ssm: Any) -> None:
    # GIVEN a valid document already in force
    ssm.put_parameter(Name=NAME, Value=VALID, Type="String")
    refused: list[str] = []
    source = _source(ssm, refused)
    good = source.current()
    # WHEN ops save an invalid edit, read twice
    ssm.put_parameter(Name=NAME, Value=INVALID, Type="String", Overwrite=True)
    first, second = source.current(), source.current()
    # THEN the last good document stays in force, and the refusal names the field, once
    assert first == good
    assert second == good
    assert len(refused) == 1
    assert "defaults.groups.task" in refused[0]
    assert "min_nodes (9) is greater than max_nodes (3)" in refused[0]


def test_invalid_document_with_no_last_good_raises(ssm: Any) -> None:
    # GIVEN only an invalid document
    ssm.put_parameter(Name=NAME, Value=INVALID, Type="String")
    # WHEN read, THEN ConfigInvalidError names the field
    with pytest.raises(ConfigInvalidError, match=r"defaults\.groups\.task"):
        _source(ssm, []).current()


def test_missing_parameter_with_no_last_good_raises(ssm: Any) -> None:
    # GIVEN no parameter at all, WHEN read, THEN a clear error naming the parameter
    with pytest.raises(ConfigInvalidError, match=NAME):
        _source(ssm, []).current()


def test_cache_delays_an_edit_until_max_age(ssm: Any) -> None:
    # GIVEN a source caching for 60 s
    ssm.put_parameter(Name=NAME, Value=VALID, Type="String")
    source = _source(ssm, [], max_age_s=60)
    before = source.current()
    # WHEN the parameter changes and the cache is still fresh
    ssm.put_parameter(Name=NAME, Value="version: 1\n", Type="String", Overwrite=True)
    cached = source.current()
    # THEN the cached document is served; after the cache expires, the new one
    assert cached == before
    parameters.clear_caches()
    fresh = SsmConfigSource(SSMProvider(boto3_client=ssm), NAME, max_age_s=60).current()
    assert fresh.policy_for(None)[1].scale_out.max_step_nodes == 10
