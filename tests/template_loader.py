"""The SAM template as the tests read it, with the one CloudFormation YAML loader of the repository.

`!Ref`, `!Sub`, `!GetAtt` and the other short tags become their long forms (`{"Ref": ...}`, `{"Fn::Sub": ...}`,
`{"Fn::GetAtt": [resource, attribute]}`), read by the sandbox's loader, so the tests check the template exactly as
the sandbox deploys it. The helpers below are what tests/unit/test_template*.py share.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from emr_autoscaler_dev.sandbox.template import load_template as _load_cfn

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
EVENTBRIDGE_EVENT_TYPES = {"Schedule", "EventBridgeRule", "CloudWatchEvent"}
CLUSTER_ARN = "arn:${AWS::Partition}:elasticmapreduce:${AWS::Region}:${AWS::AccountId}:cluster/*"
DEAD_LETTER_QUEUE = {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
OPT_IN = {"StringEquals": {"aws:ResourceTag/emr-autoscaler:enabled": "true"}}


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """Load_template reads template.yaml (or `path`) with CloudFormation's short tags in their long forms."""
    return _load_cfn(path)


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Resources are the template's resources of one type, by logical id."""
    return {name: res for name, res in template["Resources"].items() if res["Type"] == resource_type}


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Functions are the template's SAM functions, by logical id."""
    return resources(template, "AWS::Serverless::Function")


def as_list(value: Any) -> list[Any]:
    """As_list is an IAM field (Action, Resource) as a list, whether the template wrote one value or several."""
    return value if isinstance(value, list) else [value]


def iam_statements(template: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Iam_statements yields every identity-policy statement: SAM function Policies and IAM roles/policies."""
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            for policy in as_list(props.get("Policies", [])):
                if isinstance(policy, dict) and "Statement" in policy:
                    yield from policy["Statement"]
        elif resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                # A policy under Fn::If [condition, policy, AWS::NoValue] applies when its condition holds.
                policy = policy["Fn::If"][1] if "Fn::If" in policy else policy
                yield from policy["PolicyDocument"]["Statement"]
        elif resource["Type"] in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            yield from props["PolicyDocument"]["Statement"]


def eventbridge_events(template: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Eventbridge_events are (function, event name, event) for every EventBridge-backed event of every function."""
    return [
        (name, event_name, event)
        for name, function in functions(template).items()
        for event_name, event in function["Properties"].get("Events", {}).items()
        if event["Type"] in EVENTBRIDGE_EVENT_TYPES
    ]
