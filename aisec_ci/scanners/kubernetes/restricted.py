"""The restricted Pod Security Standard, one finding per container (K6-K9, K11).

A container that writes no securityContext lacks five settings at once, and they
are fixed together, in one block: so they are reported together, as one finding
that lists every missing setting and carries the block that adds them. A setting
written with an explicitly insecure value is a problem of its own and keeps its
own rule (`allowPrivilegeEscalation: true` here; privileged, `runAsUser: 0` and
`Unconfined` profiles in `podsecurity.py`), as does everything that breaks the
baseline profile.

The per-setting rules this replaces stay in the catalog, off by default, because
suppressions, config and baselines name them. How each is still honoured:
- an inline `aisec: ignore[<old id>]` covering the container's line, or the line
  the old finding used, takes the setting out of the list; the old finding is still
  produced on that line, so the engine lists it as suppressed with its reason and
  its old fingerprint;
- `rules: {<old id>: {enabled: true}}` in the config reports the setting on its own
  again (old message, line and fingerprint) instead of in the list, and
  `enabled: false` leaves it out of both;
- a config allowlist entry whose `rules` name the old ids of every listed setting
  allows the consolidated finding too (it is kept at info with the reason).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from aisec_ci.rules import Rule
from aisec_ci.scanners.common.context import AllowEntry, Context, Manifest
from aisec_ci.scanners.kubernetes.podsecurity import PSS, cap_name
from aisec_ci.scanners.kubernetes.podspecs import Container, PodSpec
from aisec_ci.severity import Severity
from aisec_ci.suppress.inline import Directive, covering
from aisec_ci.yamlfile.values import YList, YMap

RESTRICTED = Rule(
    id="k8s/restricted-controls-missing",
    name="Container misses restricted securityContext settings",
    short_description="One finding per container listing every restricted Pod Security setting it does not have.",
    severity=Severity.MEDIUM,
    what="Reports, once per container, the settings of the PSS restricted profile its effective securityContext "
    "lacks: `allowPrivilegeEscalation: false` (K7), `runAsNonRoot: true` or a non-zero `runAsUser` (K8), "
    "`seccompProfile` RuntimeDefault or Localhost (K9) and `capabilities.drop: [ALL]` (K6), plus the hardening "
    "setting `readOnlyRootFilesystem: true` (K11, not asked of ephemeral containers). Pod-level `runAsNonRoot`, "
    "`runAsUser` and `seccompProfile` count for every container; a container's own weaker value overrides them "
    "and counts as missing. The finding sits on the container's `name:` line; `properties.missing_controls` lists "
    "the settings and `properties.suggested_security_context` holds the container's complete securityContext with "
    "them added. Severity is medium when `allowPrivilegeEscalation` or `runAsNonRoot` is missing, low when only "
    "seccomp, capabilities or the read-only root filesystem are (the severities of the per-setting rules this "
    "replaces, so a `fail-on` gate decides as before). Explicitly insecure values have their own rules and are "
    "not repeated here: `privileged: true`, `allowPrivilegeEscalation: true` (k8s/privilege-escalation-allowed), "
    "`runAsUser: 0` (k8s/run-as-root-user), `Unconfined` seccomp (k8s/seccomp-unconfined). In kustomize patches "
    "and KServe framework containers, whose other fields come from elsewhere, only settings written with a weaker "
    "value are listed.\n\n"
    "It replaces k8s/privilege-escalation-allowed (for a missing setting), k8s/run-as-non-root-missing, "
    "k8s/seccomp-profile-missing, k8s/capabilities-not-dropped and k8s/writable-root-filesystem, which stay in the "
    "catalog, off by default. An inline `aisec: ignore[<old id>]` on the container's line, or on the line the old "
    "finding used, takes that setting out of the list (the old finding is listed as suppressed with the reason; "
    "when every setting is suppressed there is no finding). In `.aisec.yml`, `rules: {<old id>: {enabled: true}}` "
    "reports that setting on its own again, with its old fingerprint, instead of in the list; `enabled: false` "
    "stops checking it. An `ignores:` entry naming an old id matches only what that rule still reports; to hide "
    "this finding, name this rule. A "
    "`kubernetes.allowlist` entry whose `rules` name the old ids of every listed setting allows this finding too.",
    why="Each missing setting is a step an attacker who gets code execution in the container (a pickled model, an "
    "RCE in the server) no longer has to take: without `no_new_privs` a setuid binary makes them root; a root "
    "process owns the mounted model cache and is one kernel bug from the node; the unfiltered syscall surface and "
    "the default capabilities (NET_RAW, DAC_OVERRIDE) are what container escapes use; a writable root filesystem "
    "keeps their tools and patched packages for the life of the pod. They are reported together because they are "
    "fixed together, in one securityContext block.",
    example="containers:\n- name: server\n  image: vllm/vllm-openai:v0.6.0\n  # no securityContext: "
    "one finding listing all five settings",
    example_language="yaml",
    fix="Add the listed settings to the container's securityContext (the finding's `suggested_security_context` "
    "property holds the complete block for that container): `securityContext: {allowPrivilegeEscalation: false, "
    "capabilities: {drop: [ALL]}, readOnlyRootFilesystem: true, runAsNonRoot: true, seccompProfile: {type: "
    "RuntimeDefault}}`. `runAsNonRoot` and `seccompProfile` may go in the pod's securityContext instead, covering "
    "every container. Before turning on `readOnlyRootFilesystem`, mount an emptyDir where the application writes "
    "(`/tmp`, `~/.cache/huggingface`); if the image runs as root, give it a non-zero `runAsUser`.",
    tags=("CWE-250", "CWE-269", "pss-restricted"),
    references=(PSS,),
)

_FOLDED = (
    "Off by default: a container that lacks the setting is listed in k8s/restricted-controls-missing, one "
    "finding per container. Enable this rule in `.aisec.yml` to report the setting on its own again (with the "
    "fingerprint it had) instead of in that list; disabling it stops checking the setting."
)

PRIV_ESC = Rule(
    id="k8s/privilege-escalation-allowed",
    name="Container allows privilege escalation",
    short_description="`allowPrivilegeEscalation: true` lets the process gain privileges through setuid binaries.",
    severity=Severity.MEDIUM,
    what="Reports containers that set `securityContext.allowPrivilegeEscalation: true` (PSS restricted, K7). A "
    "container that does not set it at all is listed in k8s/restricted-controls-missing instead; enabling this "
    "rule explicitly in `.aisec.yml` reports those here again (with the fingerprint they had), and disabling it "
    "stops checking the setting. Privileged containers are reported by k8s/privileged-container.",
    why="Without `no_new_privs`, a setuid binary in the image (sudo, su, ping on old images) turns code "
    "execution as an unprivileged user into root inside the container. Writing `true` says the workload "
    "relies on that, which deserves a review of its own.",
    example="securityContext:\n  allowPrivilegeEscalation: true",
    example_language="yaml",
    fix="Set `securityContext.allowPrivilegeEscalation: false`, and remove the setuid binaries the image relies on.",
    tags=("CWE-269", "pss-restricted"),
    references=(PSS,),
)

RUN_AS_NON_ROOT = Rule(
    id="k8s/run-as-non-root-missing",
    name="Container may run as root",
    short_description="Neither the pod nor the container sets `runAsNonRoot: true`.",
    severity=Severity.MEDIUM,
    what="Reports containers whose effective `runAsNonRoot` (container, else pod security context) is not "
    "true and whose effective `runAsUser` is not a non-zero UID (PSS restricted, K8). " + _FOLDED,
    why="Most ML images (pytorch, vllm, tritonserver) default to root. Root in the container owns the "
    "writable model cache and is one kernel bug away from root on the node.",
    example="spec:\n  containers:\n  - name: server\n    image: vllm/vllm-openai:v0.6.0",
    example_language="yaml",
    fix="Set `securityContext.runAsNonRoot: true` (pod level) and a non-zero `runAsUser`.",
    tags=("CWE-250", "pss-restricted"),
    references=(PSS,),
    enabled_by_default=False,
)

SECCOMP_MISSING = Rule(
    id="k8s/seccomp-profile-missing",
    name="No seccomp profile",
    short_description="Neither pod nor container sets `seccompProfile` (RuntimeDefault or Localhost).",
    severity=Severity.LOW,
    what="Reports containers without an effective seccomp profile (PSS restricted, K9). " + _FOLDED,
    why="Without an explicit profile the runtime may run the pod unconfined, leaving the full syscall "
    "surface open to a compromised process.",
    example="spec:\n  containers:\n  - name: server\n    image: ghcr.io/org/server:1.0",
    example_language="yaml",
    fix="Set `securityContext.seccompProfile.type: RuntimeDefault` at pod level.",
    tags=("CWE-693", "pss-restricted"),
    references=(PSS,),
    enabled_by_default=False,
)

DROP_ALL = Rule(
    id="k8s/capabilities-not-dropped",
    name="Container does not drop all capabilities",
    short_description="`capabilities.drop` does not include ALL.",
    severity=Severity.LOW,
    what="Reports containers whose `securityContext.capabilities.drop` does not contain `ALL` (PSS restricted, "
    "K6). " + _FOLDED,
    why="The runtime's default set includes NET_RAW (packet spoofing, ARP poisoning inside the node) and "
    "CHOWN/DAC_OVERRIDE, which help an attacker who gained code execution in the container.",
    example="securityContext:\n  capabilities:\n    add: [NET_BIND_SERVICE]",
    example_language="yaml",
    fix="Set `capabilities: {drop: [ALL]}` and add back only NET_BIND_SERVICE if needed.",
    tags=("CWE-250", "pss-restricted"),
    references=(PSS,),
    enabled_by_default=False,
)

READ_ONLY_ROOT = Rule(
    id="k8s/writable-root-filesystem",
    name="Root filesystem is writable",
    short_description="`readOnlyRootFilesystem` is not true.",
    severity=Severity.LOW,
    what="Reports containers (other than ephemeral ones) without `securityContext.readOnlyRootFilesystem: true` "
    "(K11). " + _FOLDED,
    why="A writable image filesystem lets an attacker who got code execution drop tools, patch the server's "
    "Python packages or swap model files in place, and keep them for the life of the pod.",
    example="containers:\n- name: server\n  image: ghcr.io/org/server:1.0",
    example_language="yaml",
    fix="Set `readOnlyRootFilesystem: true` and mount an emptyDir where the app writes "
    "(`~/.cache/huggingface`, `/tmp`).",
    tags=("CWE-732",),
    enabled_by_default=False,
)

RULES: tuple[Rule, ...] = (RESTRICTED, PRIV_ESC, RUN_AS_NON_ROOT, SECCOMP_MISSING, DROP_ALL, READ_ONLY_ROOT)


@dataclass(frozen=True)
class Gap:
    """One restricted setting a container does not have."""

    line: int
    """Where the per-setting rule reported it (the field, else `securityContext:`, else the container)."""
    message: str
    """The per-setting rule's message, after the container's label."""
    written: str = ""
    """What the manifest writes instead (`container sets runAsNonRoot: false`); '' when the field is absent."""


@dataclass(frozen=True)
class Control:
    """One setting of the restricted profile, and the per-setting rule that used to report it."""

    name: str
    """How findings list it: the setting as it should read."""
    rule: Rule
    key: str
    """Suffix of the per-setting rule's finding key (kept: it is hashed into fingerprints)."""
    severity: Severity
    """What its absence weighs in the consolidated finding (the per-setting rule's severity)."""
    gap: Callable[[YMap | None, Container], Gap | None]
    """The gap, or None when the setting is there, or when another rule reports the value written."""
    apply: Callable[[dict[str, Any]], None]
    """Writes the setting into a plain securityContext mapping."""


def _sc_line(c: Container) -> int:
    """A missing field is reported at the `securityContext:` key, or at the container's name."""
    return c.doc.line_of("securityContext") if c.security_context is not None else c.line


def _effective(pod_sc: YMap | None, c_sc: YMap | None, key: str) -> tuple[Any, str, YMap | None]:
    """Container-level value wins over pod-level: (value, `container`/`pod`/'', map that set it)."""
    if c_sc is not None and key in c_sc:
        return c_sc[key], "container", c_sc
    if pod_sc is not None and key in pod_sc:
        return pod_sc[key], "pod", pod_sc
    return None, "", None


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _uid(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _escalation_gap(pod_sc: YMap | None, c: Container) -> Gap | None:
    sc = c.security_context
    if sc is not None and sc.get("privileged") is True:
        return None  # privileged implies escalation (and `false` with it is rejected): k8s/privileged-container
    value = sc.get("allowPrivilegeEscalation") if sc is not None else None
    if value is False or value is True:
        return None  # `true` is reported on its own (see `_report_explicit_escalation`)
    message = "does not set allowPrivilegeEscalation: false"
    if value is None or sc is None:
        return Gap(_sc_line(c), message)
    return Gap(
        sc.line_of("allowPrivilegeEscalation"), message, f"container sets allowPrivilegeEscalation: {_scalar(value)}"
    )


def _non_root_gap(pod_sc: YMap | None, c: Container) -> Gap | None:
    sc = c.security_context
    non_root, level, where = _effective(pod_sc, sc, "runAsNonRoot")
    uid = _uid(_effective(pod_sc, sc, "runAsUser")[0])
    if non_root is True or (uid is not None and uid > 0):
        return None
    if uid == 0:
        return None  # explicit root: k8s/run-as-root-user, and runAsNonRoot: true would stop the pod starting
    message = "may run as root (runAsNonRoot is not true)"
    if where is None:
        return Gap(_sc_line(c), message)
    return Gap(where.line_of("runAsNonRoot"), message, f"{level} sets runAsNonRoot: {_scalar(non_root)}")


def _seccomp_type(profile: Any) -> str:
    return str(profile.get("type", "")) if isinstance(profile, dict) else ""


def _seccomp_gap(pod_sc: YMap | None, c: Container) -> Gap | None:
    profile, level, _ = _effective(pod_sc, c.security_context, "seccompProfile")
    kind = _seccomp_type(profile)
    if kind in ("RuntimeDefault", "Localhost") or kind.lower() == "unconfined":
        return None  # Unconfined is k8s/seccomp-unconfined
    written = f"{level} sets seccompProfile type {kind or '(none)'}" if profile is not None else ""
    return Gap(_sc_line(c), "has no seccomp profile", written)


def _capabilities(sc: YMap | None) -> YMap | None:
    caps = sc.get("capabilities") if sc is not None else None
    return caps if isinstance(caps, YMap) else None


def _drop_all_gap(pod_sc: YMap | None, c: Container) -> Gap | None:
    caps = _capabilities(c.security_context)
    dropped = caps.get("drop") if caps is not None else None
    names = [cap_name(x) for x in dropped] if isinstance(dropped, list) else []
    if "ALL" in names:
        return None
    if caps is None:
        return Gap(_sc_line(c), "does not drop ALL capabilities")
    if dropped is None:
        written = ""
    elif names:
        written = f"container drops only [{', '.join(names)}]"
    else:
        written = f"container sets capabilities.drop: {_scalar(dropped) if not isinstance(dropped, list) else '[]'}"
    return Gap(caps.line_of("drop"), "does not drop ALL capabilities", written)


def _read_only_gap(pod_sc: YMap | None, c: Container) -> Gap | None:
    if c.group == "ephemeralContainers":
        return None  # a debugging shell writes where it likes; restricted does not ask it of them either
    sc = c.security_context
    value = sc.get("readOnlyRootFilesystem") if sc is not None else None
    if value is True:
        return None
    message = "has a writable root filesystem"
    if sc is None:
        return Gap(c.line, message)
    if "readOnlyRootFilesystem" not in sc:
        return Gap(c.doc.line_of("securityContext"), message)
    return Gap(
        sc.line_of("readOnlyRootFilesystem"), message, f"container sets readOnlyRootFilesystem: {_scalar(value)}"
    )


def _set(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(sc: dict[str, Any]) -> None:
        sc[field] = value

    return apply


def _drop_all(sc: dict[str, Any]) -> None:
    caps = sc.get("capabilities")
    caps = dict(caps) if isinstance(caps, dict) else {}
    caps["drop"] = ["ALL"]  # ALL covers whatever else was listed
    sc["capabilities"] = caps


# In the order findings list them (by name).
CONTROLS: tuple[Control, ...] = (
    Control(
        "allowPrivilegeEscalation: false",
        PRIV_ESC,
        "allowPrivilegeEscalation",
        Severity.MEDIUM,
        _escalation_gap,
        _set("allowPrivilegeEscalation", False),
    ),
    Control("capabilities.drop: [ALL]", DROP_ALL, "drop-all", Severity.LOW, _drop_all_gap, _drop_all),
    Control(
        "readOnlyRootFilesystem: true",
        READ_ONLY_ROOT,
        "readOnlyRoot",
        Severity.LOW,
        _read_only_gap,
        _set("readOnlyRootFilesystem", True),
    ),
    Control(
        "runAsNonRoot: true",
        RUN_AS_NON_ROOT,
        "runAsNonRoot",
        Severity.MEDIUM,
        _non_root_gap,
        _set("runAsNonRoot", True),
    ),
    Control(
        "seccompProfile: RuntimeDefault",
        SECCOMP_MISSING,
        "seccomp-missing",
        Severity.LOW,
        _seccomp_gap,
        _set("seccompProfile", {"type": "RuntimeDefault"}),
    ),
)
FOLDED_RULE_IDS = frozenset(c.rule.id for c in CONTROLS)


def _plain(value: Any) -> Any:
    """The parsed YAML as plain dicts and lists, which `yaml.safe_dump` can write."""
    if isinstance(value, YMap):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, YList):
        return [_plain(v) for v in value]
    return value


# Top-level values of a securityContext that other rules report, and those rules: the
# suggested block keeps what the manifest writes (dropping privileges a workload may need
# is a decision of its own) but says where each is reported.
_OWN_RULE_VALUES: tuple[tuple[str, Any, str], ...] = (
    ("privileged", True, "k8s/privileged-container"),
    ("allowPrivilegeEscalation", True, PRIV_ESC.id),
    ("runAsUser", 0, "k8s/run-as-root-user"),
)


def suggested_security_context(c: Container, controls: list[Control]) -> str:
    """The container's securityContext as written, with the settings of `controls` added
    (as YAML, `securityContext:` first, ready to paste under the container)."""
    sc = c.security_context
    block: dict[str, Any] = _plain(sc) if sc is not None else {}
    for control in controls:
        control.apply(block)
    text: str = yaml.safe_dump({"securityContext": block}, sort_keys=False, default_flow_style=False)
    notes = {
        f"  {field}: {_scalar(value)}": rule_id
        for field, value, rule_id in _OWN_RULE_VALUES
        if field in block and block[field] == value and type(block[field]) is type(value)
    }
    if not notes:
        return text
    return "".join(
        f"{line}  # reported by {notes[line]}\n" if line in notes else f"{line}\n" for line in text.splitlines()
    )


def check(
    pod: PodSpec,
    ctx: Context,
    directives: Mapping[int, Directive] | None = None,
    switches: Mapping[str, bool] | None = None,
) -> None:
    """`directives`: the file's inline suppressions; `switches`: the config's explicit `enabled` per rule id."""
    for c in pod.containers:
        with ctx.fragment(c.runtime_supplied):
            _check_container(ctx, pod, c, directives or {}, switches or {})


def _report_explicit_escalation(ctx: Context, pod: PodSpec, c: Container, key: str) -> None:
    sc = c.security_context
    if sc is None or sc.get("allowPrivilegeEscalation") is not True or sc.get("privileged") is True:
        return
    ctx.report(
        PRIV_ESC,
        sc.line_of("allowPrivilegeEscalation"),
        f"{c.label} allows privilege escalation",
        key=f"{key}:allowPrivilegeEscalation",
        manifest=pod.manifest,
        image=c.image,
    )


def _suppressed_at(directives: Mapping[int, Directive], rule_id: str, lines: tuple[int, ...]) -> int | None:
    """The first of `lines` an inline directive naming `rule_id` covers. A directive that
    also names the consolidated rule (`k8s/*`) is left to the engine, which then hides
    the whole consolidated finding instead of its settings one by one."""
    for line in lines:
        for directive in covering(directives, line):
            if directive.matches(rule_id) and not directive.matches(RESTRICTED.id):
                return line
    return None


def _check_container(
    ctx: Context,
    pod: PodSpec,
    c: Container,
    directives: Mapping[int, Directive],
    switches: Mapping[str, bool],
) -> None:
    key = f"{pod.path}/{c.name}"
    _report_explicit_escalation(ctx, pod, c, key)
    listed: list[tuple[Control, Gap]] = []
    suppressed: list[str] = []
    for control in CONTROLS:
        gap = control.gap(pod.security_context, c)
        if gap is None or switches.get(control.rule.id) is False:
            continue
        if ctx.partial and not gap.written:
            continue  # a patch or a runtime-filled container: an absent field is not missing
        own_line = gap.line if switches.get(control.rule.id) is True else None
        if own_line is None and directives:
            own_line = _suppressed_at(directives, control.rule.id, (gap.line, c.line))
            if own_line is not None:
                suppressed.append(control.name)
        if own_line is not None:
            # Reported under the per-setting rule: asked for in the config, or named by an
            # inline directive, which then suppresses it (listed with the directive's reason).
            ctx.report(
                control.rule,
                own_line,
                f"{c.label} {gap.message}",
                key=f"{key}:{control.key}",
                manifest=pod.manifest,
                image=c.image,
                absent=not gap.written,
            )
            continue
        listed.append((control, gap))
    if listed:
        _report_consolidated(ctx, pod, c, key, listed, suppressed)


def _allowed_by_old_ids(ctx: Context, m: Manifest, image: str, controls: list[Control]) -> AllowEntry | None:
    """An allowlist entry naming the per-setting rules of every listed setting (entries that
    name no rules, or this rule, are applied by `Context.report` itself)."""

    def applies(entry: AllowEntry, rule_id: str) -> bool:
        # The same condition Context.report uses.
        return bool(image or entry.namespaces or entry.names) and entry.matches(rule_id, image, m.namespace, m.name)

    if any(applies(entry, RESTRICTED.id) for entry in ctx.allowlist):
        return None
    for entry in ctx.allowlist:
        if entry.rules and all(applies(entry, control.rule.id) for control in controls):
            return entry
    return None


def _report_consolidated(
    ctx: Context,
    pod: PodSpec,
    c: Container,
    key: str,
    listed: list[tuple[Control, Gap]],
    suppressed: list[str],
) -> None:
    controls = [control for control, _ in listed]
    items = [control.name + (f" ({gap.written})" if gap.written else "") for control, gap in listed]
    count = len(items)
    message = f"{c.label} misses {count} restricted securityContext setting{'s' if count > 1 else ''}: " + ", ".join(
        items
    )
    properties: dict[str, Any] = {
        "container": c.name,
        "missing_controls": sorted(control.name for control in controls),
        "suggested_security_context": suggested_security_context(c, controls),
    }
    overridden = sorted(control.name for control, gap in listed if gap.written)
    if overridden:
        properties["overridden_controls"] = overridden
    if suppressed:
        properties["suppressed_controls"] = sorted(suppressed)
    severity = max(control.severity for control in controls)
    entry = _allowed_by_old_ids(ctx, pod.manifest, c.image, controls)
    if entry is not None:
        severity = Severity.INFO
        properties["allowlisted"] = entry.reason
        message += f" (allowed by config: {entry.reason})"
    ctx.report(
        RESTRICTED,
        c.line,
        message,
        key=f"{key}:restricted-controls",
        manifest=pod.manifest,
        image=c.image,
        severity=severity,
        properties=properties,
    )
