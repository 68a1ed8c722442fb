"""Non-pod objects: committed Secrets and credential ConfigMaps (K19), service
account tokens (K20), RBAC (K24), and Namespaces without Pod Security
admission (PSA) enforcement."""

from __future__ import annotations

import re
from typing import Any

from aisec_ci.rules import Rule
from aisec_ci.scanners.common.context import Context, Manifest
from aisec_ci.scanners.kubernetes import secretvalues
from aisec_ci.scanners.kubernetes.podspecs import PodSpec
from aisec_ci.severity import Severity
from aisec_ci.yamlfile.values import YList, YMap

SECRET_COMMITTED = Rule(
    id="k8s/secret-committed",
    name="Secret manifest with inline data",
    short_description="A `kind: Secret` carries `data`/`stringData` values in the repository.",
    severity=Severity.HIGH,
    what="Reports Secret objects whose `data` or `stringData` hold literal values, and ConfigMaps "
    "with credential-named keys (password, token, api_key, aws_secret_access_key) holding literal values "
    "(K19). Each value gets the secrets scanner's judgement (base64 in `data` is decoded first): "
    "credentials are high; well-known default passwords (`minioadmin`) at most medium; values that are "
    "public (certificates, `ca.crt`, public keys), identifiers (user names, key ids) or placeholders are "
    "listed at low with the reason. Findings under test-data directories are one step lower. Values are "
    "never printed; base64 is encoding, not encryption.",
    why="Everything committed to git is readable by everyone with repository access, forever (history, "
    "forks, CI caches). KServe `s3creds.yaml` and `hf-token-secret.yaml` patterns leak storage keys and "
    "model-hub tokens this way.",
    example="kind: Secret\nstringData:\n  HF_TOKEN: hf_xxxxxxxxxxxxxxxxxxxx",
    example_language="yaml",
    fix="Create the Secret outside git (`kubectl create secret`, External Secrets, Sealed Secrets, SOPS) and "
    "rotate the leaked credential.",
    tags=("CWE-798", "CWE-312"),
    precision="high",
)

SA_TOKEN = Rule(
    id="k8s/service-account-token-automount",
    profile="strict",
    name="Service-account token mounted by default",
    short_description="The pod does not set `automountServiceAccountToken: false`.",
    severity=Severity.LOW,
    what="Reports pod specs that do not set `automountServiceAccountToken: false` (K20).",
    why="Every process in the pod can read the token and call the Kubernetes API with the service "
    "account's rights; model servers and notebooks rarely need it, and a compromised one then pivots to the API.",
    example="spec:\n  containers:\n  - name: server\n    image: ghcr.io/org/server:1.0",
    example_language="yaml",
    fix="Set `automountServiceAccountToken: false` on the pod (or its ServiceAccount) unless it calls the API.",
    tags=("CWE-250",),
)

RBAC_WILDCARD = Rule(
    id="k8s/rbac-wildcard",
    name="RBAC rule with wildcards",
    short_description="A Role/ClusterRole grants `*` verbs or `*` resources.",
    severity=Severity.HIGH,
    what="Reports Role and ClusterRole rules with `*` in verbs or resources (K24). Medium when the wildcard "
    "stays inside extension API groups, low for such a ClusterRole aggregated into the built-in edit/admin "
    "roles or a platform's own edit/admin roles (`aggregate-to-...-edit` labels: the documented way to let "
    "those roles use a CRD).",
    why="Wildcards grant today's and tomorrow's resources and verbs, including escalate/bind and Secrets; "
    "an operator or notebook role with them is cluster-admin in practice.",
    example="rules:\n- apiGroups: ['*']\n  resources: ['*']\n  verbs: ['*']",
    example_language="yaml",
    fix="List the exact resources and verbs needed.",
    tags=("CWE-269",),
    precision="very-high",
)

RBAC_SENSITIVE = Rule(
    id="k8s/rbac-sensitive-access",
    name="RBAC grants secrets, exec or escalation verbs",
    short_description="A role reads Secrets, execs into pods, or can escalate/bind/impersonate.",
    severity=Severity.MEDIUM,
    what="Reports rules granting get/list/watch on `secrets` (low in a namespaced Role: its own namespace's "
    "Secrets; in the strict profile for a ClusterRole when the repository's controllers declare the read in "
    "`+kubebuilder:rbac` markers), create on `pods/exec` or `pods/attach`, and (high) the `escalate`, "
    "`bind` or `impersonate` verbs (K24).",
    why="Reading Secrets yields every credential in scope; exec runs commands in other pods; escalate/bind/"
    "impersonate let the holder grant itself any permission.",
    example="rules:\n- apiGroups: ['']\n  resources: [secrets]\n  verbs: [get, list]",
    example_language="yaml",
    fix="Narrow the rule with `resourceNames`, or move the need into a controller with its own minimal role.",
    tags=("CWE-269",),
    precision="very-high",
)

RBAC_BINDING = Rule(
    id="k8s/rbac-dangerous-binding",
    name="Binding to cluster-admin or to anonymous users",
    short_description="A (Cluster)RoleBinding grants cluster-admin, or binds system:anonymous/unauthenticated.",
    severity=Severity.HIGH,
    what="Reports bindings whose roleRef is `cluster-admin`, and bindings whose subjects include "
    "`system:anonymous`, `system:unauthenticated` or `system:authenticated` (K24).",
    why="cluster-admin is every permission in the cluster; binding anything to the anonymous groups hands "
    "it to whoever can reach the API server.",
    example="roleRef:\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n- kind: ServiceAccount\n  name: jupyter",
    example_language="yaml",
    fix="Bind a purpose-made role with the minimum rules; never bind the system:* groups.",
    tags=("CWE-269",),
    precision="very-high",
)

NAMESPACE_PSA = Rule(
    id="k8s/namespace-without-pod-security",
    profile="strict",
    name="Namespace without Pod Security enforcement",
    short_description="A Namespace lacks the `pod-security.kubernetes.io/enforce` label (or enforces privileged).",
    severity=Severity.LOW,
    what="Reports Namespace manifests without the `pod-security.kubernetes.io/enforce` label, or with it set "
    "to `privileged`.",
    why="Without Pod Security admission, nothing in the cluster stops a privileged or hostPath pod from "
    "being created in the namespace, whatever this repository's manifests say.",
    example="kind: Namespace\nmetadata:\n  name: ml-serving",
    example_language="yaml",
    fix="Label the namespace `pod-security.kubernetes.io/enforce: restricted` (or baseline).",
    tags=("CWE-693",),
    precision="very-high",
)

RULES: tuple[Rule, ...] = (SECRET_COMMITTED, SA_TOKEN, RBAC_WILDCARD, RBAC_SENSITIVE, RBAC_BINDING, NAMESPACE_PSA)

_CRED_KEY_RE = re.compile(r"(?i)(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)")
_PLACEHOLDER_RE = re.compile(r"^(?:|<.*>|\$\{.*\}|\$\(.*\)|changeme|replace[-_ ]?me|x+|\*+|dummy|example|todo)$", re.I)


def _literal(value: Any) -> bool:
    return (
        isinstance(value, (str, int, float))
        and not isinstance(value, bool)
        and not _PLACEHOLDER_RE.match(str(value).strip())
    )


def check_secret(m: Manifest, ctx: Context) -> None:
    for field in ("data", "stringData"):
        data = m.doc.get(field)
        if not isinstance(data, YMap):
            continue
        for key, value in data.items():
            if _literal(value):
                text = str(value)
                verdict = secretvalues.judge(
                    str(key),
                    secretvalues.decode_data(text) if field == "data" else text,
                    ctx.file.path,
                    SECRET_COMMITTED.severity,
                )
                # A value that is no secret still says the Secret lives in git: low, with why.
                severity = verdict.severity if verdict.severity is not None else Severity.LOW
                note = f" ({verdict.reason})" if verdict.reason else ""
                ctx.report(
                    SECRET_COMMITTED,
                    data.line_of(key),
                    f"{field}.{key} holds a value committed to the repository{note}",
                    key=f"{field}:{key}",
                    manifest=m,
                    snippet=f"{key}: <redacted>",
                    severity=severity,
                )


def check_configmap(m: Manifest, ctx: Context) -> None:
    data = m.doc.get("data")
    if not isinstance(data, YMap):
        return
    for key, value in data.items():
        if _CRED_KEY_RE.search(key) and _literal(value) and "\n" not in str(value):
            verdict = secretvalues.judge(str(key), str(value), ctx.file.path, Severity.MEDIUM)
            if verdict.severity is None:
                continue
            ctx.report(
                SECRET_COMMITTED,
                data.line_of(key),
                f"ConfigMap key {key} looks like a credential",
                key=f"configmap:{key}",
                manifest=m,
                severity=verdict.severity,
                snippet=f"{key}: <redacted>",
            )


def check_pod_token(pod: PodSpec, ctx: Context) -> None:
    spec = pod.spec
    if spec.get("automountServiceAccountToken") is False:
        return
    sa = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    line = (
        spec.line_of("automountServiceAccountToken")
        if "automountServiceAccountToken" in spec
        else (spec.line_of("serviceAccountName") if "serviceAccountName" in spec else spec.line)
    )
    ctx.report(
        SA_TOKEN,
        line,
        f"pod mounts the {sa} service-account token",
        key=f"pod@{spec.line}:automount",
        manifest=pod.manifest,
        image=pod.first_image,
        absent=True,
    )


def _lower_set(value: Any) -> set[str]:
    if isinstance(value, list):
        return {str(v).lower() for v in value}
    if isinstance(value, str):
        return {value.lower()}
    return set()


# `rbac.authorization.k8s.io/aggregate-to-edit`, and the same pattern for a platform's own
# user-facing roles (`rbac.authorization.kubeflow.org/aggregate-to-kubeflow-pipelines-edit`).
_AGGREGATE_LABEL = re.compile(r"(?:^|/)aggregate-to-(?:[a-z0-9.-]+-)?(?:edit|admin)$")


def _aggregated_into_edit_or_admin(m: Manifest) -> bool:
    meta = m.doc.get("metadata")
    labels = meta.get("labels") if isinstance(meta, YMap) else None
    if m.kind != "ClusterRole" or not isinstance(labels, YMap):
        return False
    return any(_AGGREGATE_LABEL.search(str(key)) and str(value).lower() == "true" for key, value in labels.items())


def check_role(m: Manifest, ctx: Context) -> None:
    rules = m.doc.get("rules")
    if not isinstance(rules, YList):
        return
    for i, rule in enumerate(rules):
        if not isinstance(rule, YMap):
            continue
        verbs = _lower_set(rule.get("verbs"))
        resources = _lower_set(rule.get("resources"))
        line = rules.line_of(i)
        if "*" in verbs or "*" in resources:
            where = rule.line_of("verbs") if "*" in verbs else rule.line_of("resources")
            what = " and ".join(x for x, hit in (("verbs", "*" in verbs), ("resources", "*" in resources)) if hit)
            groups = _lower_set(rule.get("apiGroups"))
            # A wildcard confined to an extension API group (custom.metrics.k8s.io) reaches far less
            # than one over the core group or every group.
            core = not groups or bool(groups & {"", "*", "rbac.authorization.k8s.io", "apps", "batch"})
            severity = None if core else Severity.MEDIUM
            if not core and _aggregated_into_edit_or_admin(m):
                # Kubernetes' own pattern for CRDs: a ClusterRole aggregated into the built-in
                # edit/admin roles gives their holders full use of an extension group.
                severity = Severity.LOW
            ctx.report(
                RBAC_WILDCARD,
                where,
                f"rule {i} grants * {what} in API groups {sorted(groups)}",
                key=f"rule:{i}:wildcard",
                manifest=m,
                severity=severity,
            )
            continue
        named = bool(rule.get("resourceNames"))
        if "secrets" in resources and verbs & {"get", "list", "watch"} and not named:
            # A namespaced Role reading its own namespace's Secrets is how a workload gets its
            # credentials; a ClusterRole reads every namespace's, the control plane's included.
            cluster_wide = m.kind != "Role"
            ctx.report(
                RBAC_SENSITIVE,
                rule.line_of("resources"),
                f"rule {i} can read Secrets" + ("" if cluster_wide else " in its namespace"),
                key=f"rule:{i}:secrets",
                manifest=m,
                severity=None if cluster_wide else Severity.LOW,
            )
        if resources & {"pods/exec", "pods/attach"} and verbs & {"create", "get"}:
            ctx.report(
                RBAC_SENSITIVE,
                rule.line_of("resources"),
                f"rule {i} can exec/attach into pods",
                key=f"rule:{i}:exec",
                manifest=m,
            )
        risky = sorted(verbs & {"escalate", "bind", "impersonate"})
        if risky:
            ctx.report(
                RBAC_SENSITIVE,
                rule.line_of("verbs") if "verbs" in rule else line,
                f"rule {i} grants the {', '.join(risky)} verb(s)",
                key=f"rule:{i}:escalate",
                manifest=m,
                severity=Severity.HIGH,
            )


def check_binding(m: Manifest, ctx: Context) -> None:
    ref = m.doc.get("roleRef")
    if isinstance(ref, YMap) and ref.get("name") == "cluster-admin":
        ctx.report(RBAC_BINDING, ref.line_of("name"), "binds the cluster-admin role", key="cluster-admin", manifest=m)
    subjects = m.doc.get("subjects")
    if isinstance(subjects, YList):
        for s in subjects:
            name = s.get("name") if isinstance(s, YMap) else None
            if name in ("system:anonymous", "system:unauthenticated", "system:authenticated") and isinstance(s, YMap):
                ctx.report(RBAC_BINDING, s.line_of("name"), f"binds {name}", key=f"subject:{name}", manifest=m)


def check_namespace(m: Manifest, ctx: Context) -> None:
    meta = m.metadata
    labels = meta.get("labels") if meta is not None else None
    enforce = labels.get("pod-security.kubernetes.io/enforce") if isinstance(labels, YMap) else None
    if enforce is None:
        line = meta.line_of("name") if meta is not None else m.line
        ctx.report(
            NAMESPACE_PSA,
            line,
            "has no pod-security.kubernetes.io/enforce label",
            key="psa-enforce",
            manifest=m,
            absent=True,
        )
    elif str(enforce) == "privileged" and isinstance(labels, YMap):
        ctx.report(
            NAMESPACE_PSA,
            labels.line_of("pod-security.kubernetes.io/enforce"),
            "enforces the privileged Pod Security level (no restrictions)",
            key="psa-enforce",
            manifest=m,
        )
