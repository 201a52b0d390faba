"""The configuration document: defaults plus deep-merged profiles, refused with the field named when wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from emr_autoscaler.kernel.config.document import (
    DEFAULT_PROFILE,
    ConfigInvalidError,
    config_json_schema,
    dump_schema,
    parse_config,
    parse_config_text,
)
from emr_autoscaler.kernel.config.scaling import NodeCapacity, ScalingPolicy
from emr_autoscaler.kernel.models import MetricsSource

DOCUMENT = """
version: 1
defaults:
  scale_in:
    cooldown_s: 600
    max_step_nodes: 3
  groups:
    task: {min_nodes: 1, max_nodes: 30}
  node_capacity:
    m7g.xlarge: {memory_mb: 12288, vcores: 4}
profiles:
  etl:
    scale_in:
      cooldown_s: 120
    groups:
      core: {min_nodes: 3, max_nodes: 12, scalable: true}
    node_capacity:
      r7g.xlarge: {memory_mb: 24576, vcores: 4}
  interactive:
    metrics:
      sources: [cloudwatch]
"""


def _refusal(document: Any) -> str:
    with pytest.raises(ConfigInvalidError) as refused:
        parse_config(document)
    return str(refused.value)


def test_profiles_are_deep_merged_over_the_defaults() -> None:
    # GIVEN a document with defaults and two profiles that override parts of nested sections
    # WHEN it is parsed
    config = parse_config_text(DOCUMENT)

    # THEN each profile keeps the defaults it does not override, at every depth
    assert set(config.profiles) == {DEFAULT_PROFILE, "etl", "interactive"}
    default, etl = config.profiles[DEFAULT_PROFILE], config.profiles["etl"]
    assert (default.scale_in.cooldown_s, default.scale_in.max_step_nodes) == (600, 3)
    assert (etl.scale_in.cooldown_s, etl.scale_in.max_step_nodes) == (120, 3)
    assert etl.scale_in.stabilization_window_s == ScalingPolicy().scale_in.stabilization_window_s
    assert (etl.groups.task.min_nodes, etl.groups.task.max_nodes) == (1, 30)
    assert (etl.groups.core.min_nodes, etl.groups.core.max_nodes, etl.groups.core.scalable) == (3, 12, True)
    assert not default.groups.core.scalable
    assert set(etl.node_capacity) == {"m7g.xlarge", "r7g.xlarge"}
    assert etl.capacity_of("r7g.xlarge") == NodeCapacity(memory_mb=24576, vcores=4)
    assert config.profiles["interactive"].metrics.sources == (MetricsSource.CLOUDWATCH,)
    assert config.profiles["interactive"].scale_in.cooldown_s == 600


@pytest.mark.parametrize(
    ("groups", "task", "core"),
    [
        pytest.param({"core": {"scalable": True}}, (0, 20, True), (2, 10, True), id="CORE scaling switched on"),
        pytest.param({"task": {"max_nodes": 8}}, (0, 8, True), (2, 10, False), id="TASK max lowered"),
        pytest.param({"core": {"min_nodes": 3}}, (0, 20, True), (3, 10, False), id="CORE min raised"),
    ],
)
def test_a_role_given_only_some_limits_keeps_its_defaults_for_the_rest(
    groups: dict[str, Any], task: tuple[int, int, bool], core: tuple[int, int, bool]
) -> None:
    # GIVEN a profile that changes only some limits of a role, over defaults that do not mention groups
    document = {"profiles": {"etl": {"groups": groups}}}

    # WHEN it is parsed
    limits = parse_config(document).profiles["etl"].groups

    # THEN the role keeps its built-in defaults for what the profile leaves out
    assert (limits.task.min_nodes, limits.task.max_nodes, limits.task.scalable) == task
    assert (limits.core.min_nodes, limits.core.max_nodes, limits.core.scalable) == core


def test_json_documents_are_read_too() -> None:
    # GIVEN the same kind of document written as JSON
    text = json.dumps({"defaults": {"scale_out": {"max_step_nodes": 4}}, "profiles": {"etl": {}}})

    # WHEN it is parsed
    config = parse_config_text(text)

    # THEN it is read as YAML would be
    assert config.profiles["etl"].scale_out.max_step_nodes == 4


@pytest.mark.parametrize("text", [pytest.param("", id="empty"), pytest.param("  \n", id="blank")])
def test_an_empty_document_means_all_defaults(text: str) -> None:
    # GIVEN an empty parameter
    # WHEN it is parsed
    config = parse_config_text(text)

    # THEN the default profile is the built-in policy
    assert config.profiles == {DEFAULT_PROFILE: ScalingPolicy()}


@pytest.mark.parametrize(
    ("document", "field", "why"),
    [
        pytest.param(
            {"profiles": {"etl": {"groups": {"task": {"min_nodes": 5, "max_nodes": 2}}}}},
            "profiles.etl.groups.task",
            "min_nodes (5) is greater than max_nodes (2)",
            id="min above max in a profile",
        ),
        pytest.param(
            {"defaults": {"groups": {"core": {"min_nodes": 11}}}},
            "defaults.groups.core",
            "min_nodes (11) is greater than max_nodes (10)",
            id="min above the default max in defaults",
        ),
        pytest.param(
            {
                "defaults": {"groups": {"task": {"max_nodes": 4}}},
                "profiles": {"etl": {"groups": {"task": {"min_nodes": 6}}}},
            },
            "profiles.etl.groups.task",
            "min_nodes (6) is greater than max_nodes (4)",
            id="min above max only once merged",
        ),
        pytest.param(
            {"defaults": {"scale_in": {"utilization_threshold_pct": 120}}},
            "defaults.scale_in.utilization_threshold_pct",
            "less than or equal to 100",
            id="threshold 120%",
        ),
        pytest.param(
            {"profiles": {"etl": {"scale_in": {"utilization_threshold_pct": -5}}}},
            "profiles.etl.scale_in.utilization_threshold_pct",
            "greater than or equal to 0",
            id="threshold -5%",
        ),
        pytest.param(
            {"defaults": {"scale_in": {"target_utilization_pct": 101}}},
            "defaults.scale_in.target_utilization_pct",
            "less than or equal to 100",
            id="target 101%",
        ),
        pytest.param(
            {"defaults": {"hdfs": {"max_utilization_pct": 100.5}}},
            "defaults.hdfs.max_utilization_pct",
            "less than or equal to 100",
            id="HDFS max 100.5%",
        ),
        pytest.param(
            {"defaults": {"scale_in": {"utilization_threshold_pct": 90, "target_utilization_pct": 60}}},
            "defaults.scale_in",
            "target_utilization_pct (60.0) is below utilization_threshold_pct (90.0)",
            id="target below threshold",
        ),
        pytest.param(
            {"defaults": {"scale_out": {"cooldown_s": -1}}},
            "defaults.scale_out.cooldown_s",
            "greater than or equal to 0",
            id="negative scale-out cooldown",
        ),
        pytest.param(
            {"profiles": {"etl": {"scale_in": {"stabilization_window_s": -60}}}},
            "profiles.etl.scale_in.stabilization_window_s",
            "greater than 0",
            id="negative stabilization window",
        ),
        pytest.param(
            {"defaults": {"scale_in": {"decommission_timeout_s": -1}}},
            "defaults.scale_in.decommission_timeout_s",
            "greater than 0",
            id="negative decommission timeout",
        ),
        pytest.param(
            {"defaults": {"metrics": {"resourcemanager_max_age_s": -30}}},
            "defaults.metrics.resourcemanager_max_age_s",
            "greater than 0",
            id="negative metrics max age",
        ),
        pytest.param(
            {"defaults": {"scale_in": {"cooldown": 300}}},
            "defaults.scale_in.cooldown",
            "Extra inputs are not permitted",
            id="unknown key in a section",
        ),
        pytest.param(
            {"profiles": {"etl": {"groups": {"task": {"max": 9}}}}},
            "profiles.etl.groups.task.max",
            "Extra inputs are not permitted",
            id="unknown key nested in a profile",
        ),
        pytest.param(
            {"defaults": {"scaleout": {"max_step_nodes": 2}}},
            "defaults.scaleout",
            "Extra inputs are not permitted",
            id="unknown section",
        ),
        pytest.param(
            {"defaults": {"node_capacity": {"m5.xlarge": {"memory_mb": 8192, "vcores": 4, "gpus": 1}}}},
            "defaults.node_capacity.m5.xlarge.gpus",
            "Extra inputs are not permitted",
            id="unknown key in node_capacity",
        ),
        pytest.param(
            {"defaults": {"metrics": {"sources": ["resourcemanager", "resourcemanager"]}}},
            "defaults.metrics",
            "sources lists a source twice",
            id="metrics source listed twice",
        ),
        pytest.param(
            {"defaults": {"metrics": {"sources": ["prometheus"]}}},
            "defaults.metrics.sources.0",
            "'resourcemanager' or 'cloudwatch'",
            id="unknown metrics source",
        ),
        pytest.param(
            {"defaults": {"scale_out": {"max_step_nodes": "ten"}}},
            "defaults.scale_out.max_step_nodes",
            "valid integer",
            id="wrong type",
        ),
    ],
)
def test_invalid_values_are_refused_naming_the_field(document: dict[str, Any], field: str, why: str) -> None:
    # GIVEN a document with one wrong setting
    # WHEN it is parsed
    message = _refusal(document)

    # THEN it is refused, and the message names the field as a dotted path and says why
    assert f"{field}: " in message
    assert why in message


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param({"defaults": {}, "profile": {}}, "unknown top-level keys: profile", id="unknown top-level key"),
        pytest.param({"version": 2}, "version: 2 is not supported", id="unsupported version"),
        pytest.param(["defaults"], "must be a mapping", id="a list, not a mapping"),
        pytest.param({"defaults": "strict"}, "defaults: must be a mapping", id="defaults not a mapping"),
        pytest.param({"profiles": ["etl"]}, "profiles: must be a mapping", id="profiles not a mapping"),
        pytest.param({"profiles": {"etl": 3}}, "profiles.etl: must be a mapping", id="profile not a mapping"),
        pytest.param({"profiles": {"default": {}}}, "profiles.default: reserved", id="profile named default"),
    ],
)
def test_malformed_documents_are_refused(document: Any, expected: str) -> None:
    # GIVEN a document of the wrong shape
    # WHEN it is parsed
    message = _refusal(document)

    # THEN the message says what is wrong where
    assert expected in message


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("defaults: [unclosed", id="unclosed flow sequence"),
        pytest.param("defaults:\n  scale_in: {cooldown_s: 3\n", id="unclosed flow mapping"),
        pytest.param('{"defaults": {"scale_in": }', id="broken JSON"),
        pytest.param("defaults:\n\tscale_in: 1\n", id="tab indentation"),
    ],
)
def test_bad_yaml_is_refused(text: str) -> None:
    # GIVEN text that is not YAML (nor JSON)
    # WHEN it is parsed
    with pytest.raises(ConfigInvalidError) as refused:
        parse_config_text(text)

    # THEN it is refused as such
    assert "not valid YAML/JSON" in str(refused.value)


@pytest.mark.parametrize(
    ("asked", "used", "fell_back"),
    [
        pytest.param(None, DEFAULT_PROFILE, False, id="no profile tag"),
        pytest.param(DEFAULT_PROFILE, DEFAULT_PROFILE, False, id="default asked"),
        pytest.param("etl", "etl", False, id="known profile"),
        pytest.param("etl-v2", DEFAULT_PROFILE, True, id="unknown profile falls back to default"),
        pytest.param("ETL", DEFAULT_PROFILE, True, id="profile names are case-sensitive"),
    ],
)
def test_policy_for_a_profile(asked: str | None, used: str, fell_back: bool) -> None:
    # GIVEN a document with an etl profile
    config = parse_config_text(DOCUMENT)

    # WHEN a cluster asks for a profile
    name, chosen, unknown = config.policy_for(asked)

    # THEN it gets that profile, or the default one with the fallback flagged
    assert (name, unknown) == (used, fell_back)
    assert chosen == config.profiles[used]


def test_json_schema_describes_the_document() -> None:
    # GIVEN the exported JSON Schema
    # WHEN it is rendered and read back
    schema = json.loads(dump_schema())

    # THEN it is a valid JSON Schema with defaults and profiles, whose references all resolve
    Draft202012Validator.check_schema(schema)
    assert schema == config_json_schema()
    assert {"version", "defaults", "profiles"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
    assert schema["properties"]["defaults"] == {"$ref": "#/$defs/ScalingPolicy"}
    assert schema["properties"]["profiles"]["additionalProperties"] == {"$ref": "#/$defs/ScalingPolicy"}
    refs = {ref for ref in _refs(schema)}
    assert refs, "the schema references its definitions"
    assert {ref.removeprefix("#/$defs/") for ref in refs} <= set(schema["$defs"])


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


@pytest.mark.parametrize(
    ("document", "valid"),
    [
        pytest.param(
            {"version": 1, "defaults": {}, "profiles": {"etl": {"scale_in": {"cooldown_s": 60}}}}, True, id="valid"
        ),
        pytest.param({"profiles": {"etl": {"groups": {"core": {"scalable": True}}}}}, True, id="partial group limits"),
        pytest.param({"defaults": {"scale_in": {"cooldown": 60}}}, False, id="unknown nested key"),
        pytest.param({"defaults": {"groups": {"task": {"min_nodes": -1}}}}, False, id="negative min_nodes"),
        pytest.param({"profile": {}}, False, id="unknown top-level key"),
        pytest.param({"defaults": {"scale_in": {"utilization_threshold_pct": 120}}}, False, id="percentage above 100"),
    ],
)
def test_json_schema_agrees_with_the_parser(document: dict[str, Any], valid: bool) -> None:
    # GIVEN the JSON Schema an editor would use
    validator = Draft202012Validator(config_json_schema())

    # WHEN a document is checked by the schema and by the parser
    schema_ok = validator.is_valid(document)
    try:
        parse_config(document)
        parser_ok = True
    except ConfigInvalidError:
        parser_ok = False

    # THEN both agree
    assert schema_ok is parser_ok is valid
