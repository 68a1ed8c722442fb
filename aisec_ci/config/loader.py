"""Loading and validating `.aisec.yml`.

The file is checked in three layers: YAML syntax (with the line and column of
the problem), the JSON Schema shipped in the package (shape and types), and
the registry (scanner names, rule ids, each scanner's own options schema).
Every problem becomes a `ConfigError` whose lines read `<file>: <key path>: <problem>`,
so a typo can never silently switch a setting off.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import fnmatch
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pathspec
import yaml
from jsonschema import Draft202012Validator

from aisec_ci.config.model import (
    CONFIG_NAMES,
    CORE_KEYS,
    DATE_RE,
    EMPTY_MEANS_DEFAULT,
    MAX_ERRORS,
    MAX_VALUES,
    SIZE_RE,
    Config,
    IgnoreEntry,
    RuleOverride,
    find_config,
    parse_size,
)
from aisec_ci.errors import ConfigError
from aisec_ci.rules import RULE_ID_RE, RuleCatalog
from aisec_ci.scanners.base import Scanner
from aisec_ci.severity import Severity, parse_fail_on
from aisec_ci.workspace.reading import UnreadableFile, read_bounded
from aisec_ci.yamlfile.stream import (
    LOADER,
    YamlError,
    YamlRecursiveAlias,
    YamlSyntaxError,
    YamlTooDeep,
    YamlTooLarge,
    compose_single,
)

# Re-exported: callers that validate a config import everything from here.
__all__ = [
    "CONFIG_NAMES",
    "CORE_KEYS",
    "Config",
    "ConfigYamlLoader",
    "IgnoreEntry",
    "RuleOverride",
    "config_json_schema",
    "find_config",
    "load_config",
    "parse_size",
]


@lru_cache(maxsize=1)
def _shipped_schema_text() -> str:
    return resources.files("aisec_ci.config").joinpath("schema.json").read_text(encoding="utf-8")


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema of `.aisec.yml` shipped in the package (a fresh copy)."""
    schema: dict[str, Any] = json.loads(_shipped_schema_text())
    return schema


def load_config(
    path: Path | None,
    *,
    root: Path,
    scanners: Mapping[str, type[Scanner]] | None = None,
    catalog: RuleCatalog | None = None,
) -> Config:
    """Read and validate a config file.

    `path` None looks for `.aisec.yml`/`.aisec.yaml` in `root` and returns the
    defaults when neither exists; an explicit `path` (from `--config`) must
    exist. `scanners` and `catalog` default to the installed registry (tests
    pass their own).
    """
    if path is None:
        found = find_config(root)
        if found is None:
            return Config()
        path = found
        display = found.name
    else:
        display = _display_name(path, root)
        if not path.exists():
            raise ConfigError(f"--config {path}: file not found")
        if path.is_dir():
            raise ConfigError(f"--config {path}: is a directory, not a config file")
    text = _read_text(path, display)
    data, node = _parse_yaml(text, display)
    resolved = path.resolve()
    if data is None:
        return Config(path=resolved)
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise ConfigError(f"{display}: the top level must be a mapping")
    if scanners is None or catalog is None:
        from aisec_ci.scanners import registry

        scanners = registry.all_scanners() if scanners is None else scanners
        catalog = registry.catalog() if catalog is None else catalog
    data = _normalise(data)
    for key in EMPTY_MEANS_DEFAULT:
        if key in data and data[key] is None:
            del data[key]
    for name in scanners:
        if name not in CORE_KEYS and name in data and data[name] is None:
            data[name] = {}

    errors = _schema_errors(data, scanners) + _registry_errors(data, scanners, catalog)
    errors += _scanner_section_errors(data, scanners)
    if errors:
        shown = errors[:MAX_ERRORS]
        if len(errors) > MAX_ERRORS:
            shown.append(f"... and {len(errors) - MAX_ERRORS} more problems")
        raise ConfigError("\n".join(f"{display}: {e}" for e in shown))
    return _build(data, node, resolved, scanners)


# --- reading and parsing ----------------------------------------------------------


def _display_name(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)


CONFIG_MAX_BYTES = 1024 * 1024
"""A real config is a few KiB; anything near this is not a config (and parsing 10 MiB
of YAML would cost seconds and hundreds of MB before any check)."""


def _read_text(path: Path, display: str) -> str:
    try:
        raw = read_bounded(path, CONFIG_MAX_BYTES)
    except UnreadableFile as exc:
        if exc.reason.startswith(("is ", "grew ")):  # read_bounded's own refusals read as a sentence
            raise ConfigError(f"{display}: {exc.reason}") from None
        raise ConfigError(f"{display}: cannot read the file ({exc.reason})") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{display}: line {line}: not valid UTF-8 text") from None


class ConfigYamlLoader(LOADER):  # type: ignore[misc]  # the C loader when PyYAML has it
    """The safe loader that keeps `2026-12-31` a string: a bad date must become a
    config error naming its key, not a constructor exception."""


ConfigYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse_yaml(text: str, display: str) -> tuple[Any, yaml.Node | None]:
    loader = ConfigYamlLoader(text)
    try:
        node = compose_single(text, loader=loader, limit=MAX_VALUES)
        if node is None:
            return None, None
        _check_duplicate_keys(node, display)
        return loader.construct_document(node), node
    except YamlSyntaxError as exc:
        problem = f"{exc.context}, {exc.problem}" if exc.context and exc.context != exc.problem else exc.problem
        raise ConfigError(f"{display}: line {exc.line}, column {exc.column}: invalid YAML: {problem}") from None
    except YamlTooDeep:
        raise ConfigError(f"{display}: invalid YAML: nested too deeply") from None
    except YamlRecursiveAlias as exc:
        raise ConfigError(f"{display}: line {exc.line}: recursive YAML alias") from None
    except YamlTooLarge as exc:
        if exc.aliases:
            raise ConfigError(f"{display}: the file expands to more than {MAX_VALUES} values (YAML aliases?)") from None
        raise ConfigError(
            f"{display}: the file holds more than {MAX_VALUES} values (the most a config may have)"
        ) from None
    except YamlError as exc:
        raise ConfigError(f"{display}: invalid YAML: {exc.reason}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{display}: invalid YAML: {exc}") from None
    except (ValueError, TypeError) as exc:
        # Explicitly tagged values (`!!timestamp 2026-13-01`, `!!binary x`) fail in construction.
        raise ConfigError(f"{display}: invalid YAML value: {exc}") from None
    finally:
        loader.dispose()


def _check_duplicate_keys(root: yaml.Node, display: str) -> None:
    """Reject duplicate keys (the later one silently wins in PyYAML) before anything is
    constructed. The graph was measured (no cycles, bounded size); shared nodes are
    visited once."""
    seen_nodes: set[int] = set()
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    line = key.start_mark.line + 1
                    if key.value in seen and key.tag != "tag:yaml.org,2002:merge":
                        raise ConfigError(
                            f"{display}: line {line}, column {key.start_mark.column + 1}: "
                            f"duplicate key '{key.value}' (first on line {seen[key.value]})"
                        )
                    seen[key.value] = line
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _normalise(value: Any) -> Any:
    """Make the YAML data JSON-shaped: string keys, dates as ISO strings, tuples as lists."""
    if isinstance(value, dict):
        return {_key_text(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted((_normalise(v) for v in value), key=repr)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        # YAML 1.1 reads `on:`/`yes:` keys as booleans; show what a user would recognise.
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


# --- validation ---------------------------------------------------------------------


def _validator_for(scanners: Mapping[str, type[Scanner]]) -> Draft202012Validator:
    schema = config_json_schema()
    props: dict[str, Any] = schema["properties"]
    for name in scanners:
        if name not in CORE_KEYS:
            props.setdefault(name, {"$ref": "#/$defs/scannerSection"})
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _schema_errors(data: dict[str, Any], scanners: Mapping[str, type[Scanner]]) -> list[str]:
    errors: list[tuple[tuple[str, ...], str]] = []
    for err in _validator_for(scanners).iter_errors(data):
        for path, message in _describe(err):
            errors.append((path, message))
    builtin = set(config_json_schema()["properties"]) - set(CORE_KEYS)
    for key in sorted(data):
        if key in builtin and key not in scanners:
            installed = ", ".join(sorted(scanners)) or "none"
            errors.append(((key,), f"{key}: no scanner named '{key}' is installed (installed: {installed})"))
    errors.sort(key=lambda e: e)
    return [message for _path, message in _dedupe(errors)]


def _dedupe(items: Iterable[tuple[tuple[str, ...], str]]) -> Iterator[tuple[tuple[str, ...], str]]:
    seen: set[str] = set()
    for item in items:
        if item[1] not in seen:
            seen.add(item[1])
            yield item


def _format_path(parts: Sequence[str | int]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out or "(top level)"


def _sort_parts(parts: Sequence[str | int]) -> tuple[str, ...]:
    return tuple(f"{p:08d}" if isinstance(p, int) else p for p in parts)


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(set(choices)), n=3, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(f"'{c}'" for c in close) + "?)"


def _describe(err: jsonschema.ValidationError) -> list[tuple[tuple[str, ...], str]]:
    """Turn one jsonschema error into `(sort key, 'key.path: problem')` lines."""
    parts: list[str | int] = list(err.absolute_path)
    schema: Mapping[str, Any] = err.schema if isinstance(err.schema, Mapping) else {}
    raw_custom = schema.get("errorMessage")
    custom: Mapping[str, Any] = raw_custom if isinstance(raw_custom, Mapping) else {}
    validator = str(err.validator)

    if "propertyNames" in err.absolute_schema_path:
        parts.append(str(err.instance))
    if validator == "required":
        required = err.validator_value if isinstance(err.validator_value, list) else []
        missing = [str(p) for p in required if isinstance(err.instance, dict) and p not in err.instance]
        name = next((p for p in missing if repr(p) in err.message), missing[0] if missing else "")
        return [(_sort_parts([*parts, name]), f"{_format_path([*parts, name])}: {err.message}")]
    if validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(schema.get("properties", {}))
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        out = []
        unknown = (k for k in err.instance if k not in allowed and not any(p.search(k) for p in patterns))
        for key in sorted(unknown):
            hint = _suggest(key, allowed)
            message = f"unknown key{hint}"
            if not parts:
                message += "; valid keys: " + ", ".join(sorted(allowed))
            out.append((_sort_parts([*parts, key]), f"{_format_path([*parts, key])}: {message}"))
        return out

    where = _format_path(parts)
    if err.instance is None and validator in ("type", "enum", "oneOf", "anyOf", "pattern"):
        message = "is empty; give it a value or remove the key"
    elif validator in custom:
        text = str(custom[validator])
        message = f"{_short_repr(err.instance)} {text}" if text.startswith("is ") else text
    else:
        message = err.message
        if validator == "enum" and isinstance(err.instance, str):
            choices = err.validator_value if isinstance(err.validator_value, list) else []
            message += _suggest(err.instance, [str(v) for v in choices])
    return [(_sort_parts(parts), f"{where}: {message}")]


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _registry_errors(data: dict[str, Any], scanners: Mapping[str, type[Scanner]], catalog: RuleCatalog) -> list[str]:
    """Checks the schema cannot express: names that must exist, dates and globs
    that must parse. Runs even when the shape is wrong elsewhere (values of the
    wrong type are skipped here; the schema reports them), so one run shows
    every problem."""
    errors: list[str] = []
    installed = sorted(scanners)
    for i, name in _items(data.get("scanners")):
        if isinstance(name, str) and name not in scanners:
            errors.append(
                f"scanners[{i}]: unknown scanner '{name}'{_suggest(name, installed)}; "
                f"valid scanners: {', '.join(installed) or 'none installed'}"
            )
    rule_ids = sorted(r.id for r in catalog)
    rules = data.get("rules")
    for rule_id in rules if isinstance(rules, dict) else {}:
        if rule_id not in catalog and RULE_ID_RE.match(rule_id):
            errors.append(f"rules.{rule_id}: unknown rule id{_suggest(rule_id, rule_ids)}; see `aisec-ci rules`")
    for key in ("max-file-size", "max-model-size", "max-file-memory"):
        value = data.get(key)
        if isinstance(value, str) and SIZE_RE.match(value):
            try:
                parse_size(value)
            except ValueError:
                errors.append(f"{key}: {value!r} is less than one byte")
    for key in ("include", "exclude"):
        for i, pattern in _items(data.get(key)):
            problem = _glob_problem(pattern) if isinstance(pattern, str) and pattern else ""
            if problem:
                errors.append(f"{key}[{i}]: {problem}")
    roles = data.get("roles")
    for role, spec in roles.items() if isinstance(roles, dict) else ():
        for i, pattern in _items(spec.get("paths") if isinstance(spec, dict) else None):
            problem = _glob_problem(pattern) if isinstance(pattern, str) and pattern else ""
            if problem:
                errors.append(f"roles.{role}.paths[{i}]: {problem}")
    for i, entry in _items(data.get("ignores")):
        if not isinstance(entry, dict):
            continue
        rule = entry.get("rule")
        if isinstance(rule, str) and rule and not any(fnmatch.fnmatchcase(r, rule) for r in rule_ids):
            errors.append(f"ignores[{i}].rule: '{rule}' matches no known rule{_suggest_rule_glob(rule, rule_ids)}")
        path = entry.get("path")
        problem = _glob_problem(path) if isinstance(path, str) and path else ""
        if not problem and isinstance(path, str) and path.startswith("!"):
            problem = f"{path!r} is a negated pattern, which on its own matches no path"
        if problem:
            errors.append(f"ignores[{i}].path: {problem}")
        until = entry.get("until")
        if isinstance(until, str) and DATE_RE.match(until):
            try:
                dt.date.fromisoformat(until)
            except ValueError:
                errors.append(f"ignores[{i}].until: {until!r} is not a valid date")
    return errors


def _suggest_rule_glob(pattern: str, rule_ids: Sequence[str]) -> str:
    """For a glob, a misspelt family is the likely mistake (`secret/*`)."""
    if "/" in pattern and any(c in pattern for c in "*?["):
        family, rest = pattern.split("/", 1)
        close = difflib.get_close_matches(family, sorted({r.split("/", 1)[0] for r in rule_ids}), n=1, cutoff=0.6)
        return f" (did you mean '{close[0]}/{rest}'?)" if close else ""
    return _suggest(pattern, rule_ids)


def _items(value: Any) -> list[tuple[int, Any]]:
    return list(enumerate(value)) if isinstance(value, list) else []


def _glob_problem(pattern: str) -> str:
    try:
        pathspec.GitIgnoreSpec.from_lines([pattern])
    except Exception as exc:  # pathspec raises a variety of errors for malformed patterns
        return f"{pattern!r} is not a valid gitignore-style glob ({exc})"
    return ""


def _scanner_section_errors(data: dict[str, Any], scanners: Mapping[str, type[Scanner]]) -> list[str]:
    errors: list[str] = []
    for name, cls in sorted(scanners.items()):
        section = data.get(name)
        if name in CORE_KEYS or not isinstance(section, dict):
            continue
        try:
            validator = Draft202012Validator(
                dict(cls.options_schema), format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            found = sorted(
                (key, message)
                for err in validator.iter_errors(section)
                for key, message in _describe(_prefixed(err, name))
            )
        except (jsonschema.SchemaError, re.error, TypeError) as exc:
            errors.append(f"{name}: the {name} scanner's options schema is broken ({exc}); report this bug")
            continue
        errors.extend(message for _key, message in _dedupe(found))
    return errors


def _prefixed(err: jsonschema.ValidationError, name: str) -> jsonschema.ValidationError:
    err.path.appendleft(name)
    return err


# --- building -------------------------------------------------------------------------


def _build(data: dict[str, Any], node: yaml.MappingNode, path: Path, scanners: Mapping[str, type[Scanner]]) -> Config:
    rules = {
        rule_id: RuleOverride(
            enabled=spec.get("enabled"),
            severity=Severity.parse(spec["severity"]) if "severity" in spec else None,
            reason=str(spec.get("reason", "")),
        )
        for rule_id, spec in sorted(data.get("rules", {}).items())
    }
    lines = _ignore_lines(node)
    ignores = tuple(
        IgnoreEntry(
            rule=entry.get("rule"),
            path=entry.get("path"),
            fingerprint=entry.get("fingerprint"),
            advisory=entry.get("advisory"),
            reason=entry["reason"].strip(),
            until=dt.date.fromisoformat(entry["until"]) if "until" in entry else None,
            line=lines[i] if i < len(lines) else 1,
        )
        for i, entry in enumerate(data.get("ignores", []))
    )
    fail_on_set = "fail-on" in data
    roles = data.get("roles", {})
    return Config(
        path=path,
        scanners=tuple(data["scanners"]) if "scanners" in data else None,
        fail_on=parse_fail_on(data["fail-on"]) if fail_on_set else None,
        fail_on_set=fail_on_set,
        profile=data.get("profile"),
        min_severity=Severity.parse(data["min-severity"]) if "min-severity" in data else None,
        role_paths={name: tuple(spec["paths"]) for name, spec in sorted(roles.items()) if spec.get("paths")},
        role_policies={name: spec["policy"] for name, spec in sorted(roles.items()) if "policy" in spec},
        include=tuple(data.get("include", ())),
        exclude=tuple(data.get("exclude", ())),
        max_file_size=parse_size(data["max-file-size"]) if "max-file-size" in data else None,
        max_model_size=parse_size(data["max-model-size"]) if "max-model-size" in data else None,
        max_file_seconds=float(data["max-file-seconds"]) if "max-file-seconds" in data else None,
        max_file_memory=parse_size(data["max-file-memory"]) if "max-file-memory" in data else None,
        baseline=data.get("baseline"),
        rules=rules,
        ignores=ignores,
        scanner_options={
            name: copy.deepcopy(data[name]) for name in sorted(scanners) if name not in CORE_KEYS and name in data
        },
    )


def _ignore_lines(root: yaml.MappingNode) -> list[int]:
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "ignores" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []
