"""Configuration: `.aisec.yml`, its shipped JSON Schema and the loader."""

from aisec_ci.config.loader import (
    Config,
    IgnoreEntry,
    RuleOverride,
    config_json_schema,
    find_config,
    load_config,
    parse_size,
)

__all__ = ["Config", "IgnoreEntry", "RuleOverride", "config_json_schema", "find_config", "load_config", "parse_size"]
