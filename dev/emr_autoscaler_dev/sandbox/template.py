"""Template: reads template.yaml (CloudFormation short tags) and resolves the intrinsics the sandbox needs.

Supported: Ref (parameters, pseudo parameters, resources), Fn::GetAtt (Arn, QueueUrl/Name where meaningful),
Fn::Sub (string and [string, map] forms), Fn::If with Conditions built from Fn::Equals/Not/And/Or, Fn::Join,
Fn::Select, Fn::Split. Anything else raises TemplateError naming where it stands.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"
REGION = "eu-west-1"
PARTITION = "aws"


class TemplateError(ValueError):
    """TemplateError: the template uses something the sandbox cannot resolve; the message names where."""


class _CfnLoader(yaml.SafeLoader):
    """A SafeLoader that turns `!Ref x` into {"Ref": x} and `!Sub s` into {"Fn::Sub": s}, and so on."""


def _construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct)


def load_template(path: Path) -> dict[str, Any]:
    """Load_template parses a CloudFormation/SAM YAML template."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(data, dict) or "Resources" not in data:
        raise TemplateError(f"{path}: not a CloudFormation template (no Resources)")
    return data


_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass
class Resolver:
    """Resolver evaluates intrinsics against parameter values and the physical ids of created resources."""

    template: dict[str, Any]
    stack_name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    physical: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    ref_of: Callable[[str], str] | None = None

    def __post_init__(self) -> None:
        for name, spec in (self.template.get("Parameters") or {}).items():
            if name not in self.parameters:
                if "Default" not in spec:
                    raise TemplateError(f"Parameters.{name}: no Default and no value given")
                self.parameters[name] = spec["Default"]

    def pseudo(self, name: str) -> Any:
        values = {
            "AWS::StackName": self.stack_name,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }
        if name not in values:
            raise TemplateError(f"unknown pseudo parameter {name}")
        return values[name]

    def ref(self, name: str, where: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            value = self.parameters[name]
            kind = (self.template.get("Parameters") or {}).get(name, {}).get("Type", "")
            if kind == "CommaDelimitedList" and isinstance(value, str):
                return [v for v in value.split(",") if v] if value else [""]
            return value
        if name in self.physical:
            return self.physical[name]
        raise TemplateError(f"{where}: !Ref {name} names nothing the sandbox created")

    def get_att(self, logical: str, attribute: str, where: str) -> str:
        if (logical, attribute) in self.attributes:
            return self.attributes[(logical, attribute)]
        raise TemplateError(f"{where}: !GetAtt {logical}.{attribute} is not known to the sandbox")

    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"Conditions.{name} is not defined")
        return bool(self.resolve(conditions[name], f"Conditions.{name}"))

    def resolve(self, value: Any, where: str) -> Any:
        """Resolve evaluates every intrinsic in `value` (recursively); `where` names the spot for errors."""
        if isinstance(value, list):
            resolved = [self.resolve(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return [v for v in resolved if v is not None]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg, where)
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return self.get_att(logical, attribute, where)
            if key == "Fn::Sub":
                return self._sub(arg, where)
            if key == "Fn::If":
                name, yes, no = arg
                return self.resolve(yes if self.condition(name) else no, where)
            if key == "Fn::Equals":
                left, right = (self.resolve(a, where) for a in arg)
                return left == right
            if key == "Fn::Not":
                return not self.resolve(arg[0], where)
            if key == "Fn::And":
                return all(self.resolve(a, where) for a in arg)
            if key == "Fn::Or":
                return any(self.resolve(a, where) for a in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Join":
                sep, items = arg
                return str(sep).join(str(i) for i in self.resolve(items, where))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items, where)[int(self.resolve(index, where))]
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text, where)).split(sep)
            if key.startswith("Fn::"):
                raise TemplateError(f"{where}: {key} is not supported by the sandbox")
        resolved_map = {k: self.resolve(v, f"{where}.{k}") for k, v in value.items()}
        return {k: v for k, v in resolved_map.items() if v is not None}

    def _sub(self, arg: Any, where: str) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        local = {k: self.resolve(v, where) for k, v in variables.items()}

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in local:
                return str(local[name])
            if "." in name and not name.startswith("AWS::"):
                logical, attribute = name.split(".", 1)
                return str(self.get_att(logical, attribute, where))
            return str(self.ref(name, where))

        return _SUB_VAR.sub(one, text)
