"""The configuration document ops edit in SSM Parameter Store: defaults plus named profiles.

A profile holds only what differs from `defaults`; it is deep-merged over them and the result validated as a
whole `ScalingPolicy`, so every profile is checked when the document is read, not when a cluster first uses it.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from emr_autoscaler.kernel.config.notifications import NotificationsConfig
from emr_autoscaler.kernel.config.scaling import ScalingPolicy
from emr_autoscaler.kernel.models import Frozen

DEFAULT_PROFILE = "default"


class ConfigInvalidError(ValueError):
    """ConfigInvalidError is raised for a document that cannot be used; its message names the field."""


class ConfigDocument(Frozen):
    """ConfigDocument is a parsed, fully validated configuration: one ScalingPolicy per profile."""

    version: int = 1
    profiles: dict[str, ScalingPolicy]
    notifications: NotificationsConfig = NotificationsConfig()

    def policy_for(self, profile: str | None) -> tuple[str, ScalingPolicy, bool]:
        """Policy_for returns (profile used, its policy, whether the asked-for profile was unknown).

        An unknown profile falls back to the default one: the cluster keeps being scaled safely, and the caller
        says so in a warning.
        """
        if profile is None or profile == DEFAULT_PROFILE:
            return DEFAULT_PROFILE, self.profiles[DEFAULT_PROFILE], False
        if profile in self.profiles:
            return profile, self.profiles[profile], False
        return DEFAULT_PROFILE, self.profiles[DEFAULT_PROFILE], True


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep_merge is `base` with `override` laid over it, nested mappings merged key by key (neither is changed)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _describe(error: ValidationError, where: str) -> str:
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in (where, *item["loc"]) if part != "")
        problems.append(f"{field}: {item['msg']}")
    return "; ".join(problems)


def parse_config(raw: Any) -> ConfigDocument:
    """Parse_config validates a decoded document (`{version, defaults, profiles}`) into a ConfigDocument.

    Raises ConfigInvalidError naming each offending field as a dotted path (`profiles.etl.scale_in.cooldown_s`).
    """
    if not isinstance(raw, dict):
        raise ConfigInvalidError(
            f"the document must be a mapping with 'defaults' and 'profiles', not {type(raw).__name__}"
        )
    unknown = set(raw) - {"version", "defaults", "profiles", "notifications"}
    if unknown:
        raise ConfigInvalidError(
            f"unknown top-level keys: {', '.join(sorted(unknown))} "
            "(allowed: version, defaults, profiles, notifications)"
        )
    version = raw.get("version", 1)
    if version != 1:
        raise ConfigInvalidError(f"version: {version!r} is not supported (this release reads version 1)")
    defaults = raw.get("defaults") or {}
    profiles_raw = raw.get("profiles") or {}
    if not isinstance(defaults, dict):
        raise ConfigInvalidError("defaults: must be a mapping")
    if not isinstance(profiles_raw, dict):
        raise ConfigInvalidError("profiles: must be a mapping of profile name to overrides")
    if DEFAULT_PROFILE in profiles_raw:
        raise ConfigInvalidError(f"profiles.{DEFAULT_PROFILE}: reserved; put default values under 'defaults'")
    try:
        profiles = {DEFAULT_PROFILE: ScalingPolicy.model_validate(defaults)}
    except ValidationError as error:
        raise ConfigInvalidError(_describe(error, "defaults")) from None
    for name, override in profiles_raw.items():
        if not isinstance(override, dict):
            raise ConfigInvalidError(f"profiles.{name}: must be a mapping")
        try:
            profiles[str(name)] = ScalingPolicy.model_validate(deep_merge(defaults, override))
        except ValidationError as error:
            raise ConfigInvalidError(_describe(error, f"profiles.{name}")) from None
    notifications_raw = raw.get("notifications") or {}
    if not isinstance(notifications_raw, dict):
        raise ConfigInvalidError("notifications: must be a mapping")
    try:
        notifications = NotificationsConfig.model_validate(notifications_raw)
    except ValidationError as error:
        raise ConfigInvalidError(_describe(error, "notifications")) from None
    return ConfigDocument(version=1, profiles=profiles, notifications=notifications)


def parse_config_text(text: str) -> ConfigDocument:
    """Parse_config_text reads a YAML or JSON document (JSON is YAML) and validates it."""
    if not text.strip():
        return parse_config({})
    try:
        # Most documents are JSON or YAML; JSON is read without importing the YAML parser (a cold start's worth).
        return parse_config(json.loads(text))
    except json.JSONDecodeError:
        pass
    import yaml

    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigInvalidError(f"not valid YAML/JSON: {error}") from None
    return parse_config(raw)


def config_json_schema() -> dict[str, Any]:
    """Config_json_schema is the JSON Schema of the document, for editors (`emr-autoscaler config schema`)."""
    policy = ScalingPolicy.model_json_schema()
    defs = policy.pop("$defs", {})
    notifications = NotificationsConfig.model_json_schema()
    notifications_defs = notifications.pop("$defs", {})
    # A document may give a role only the limits it changes; the rest come from the role's defaults.
    defs.get("GroupLimits", {}).pop("required", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "EMR Autoscaler configuration",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "version": {"const": 1},
            "defaults": {"$ref": "#/$defs/ScalingPolicy"},
            "profiles": {"type": "object", "additionalProperties": {"$ref": "#/$defs/ScalingPolicy"}},
            "notifications": {"$ref": "#/$defs/NotificationsConfig"},
        },
        "$defs": {**defs, **notifications_defs, "ScalingPolicy": policy, "NotificationsConfig": notifications},
    }


def dump_schema() -> str:
    """Dump_schema renders the JSON Schema as indented JSON text."""
    return json.dumps(config_json_schema(), indent=2, sort_keys=True)
