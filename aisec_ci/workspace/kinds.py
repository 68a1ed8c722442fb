"""File kinds: what the classifier decides a file is, and what scanners ask for."""

from __future__ import annotations

import enum


class FileKind(str, enum.Enum):
    """One kind per file; the value is what reports print."""

    REQUIREMENTS = "requirements"  # requirements*.txt, constraints*.txt, requirements/*.txt, *.in
    # poetry.lock, uv.lock, Pipfile.lock, pdm.lock, pylock*.toml; go.mod, go.sum, package-lock.json,
    # npm-shrinkwrap.json, yarn.lock, pnpm-lock.yaml, Cargo.lock
    LOCKFILE = "lockfile"
    PYPROJECT = "pyproject"  # pyproject.toml
    PIPFILE = "pipfile"  # Pipfile
    SETUP_CFG = "setup-cfg"  # setup.cfg
    CONDA_ENV = "conda-env"  # environment.yml / conda env files
    NOTEBOOK = "notebook"  # *.ipynb
    DOCKERFILE = "dockerfile"  # Dockerfile, Dockerfile.*, *.Dockerfile, Dockerfile_*, Containerfile*
    DOCKERIGNORE = "dockerignore"  # .dockerignore
    COMPOSE = "compose"  # docker-compose*.yml, compose*.yaml
    WORKFLOW = "workflow"  # .github/workflows/*.yml
    ACTION = "action"  # action.yml / action.yaml (composite or container action metadata)
    KUBERNETES = "kubernetes"  # YAML documents with apiVersion + kind
    HELM_TEMPLATE = "helm-template"  # templates/*.yaml holding {{ }} directives
    IAM_POLICY = "iam-policy"  # JSON policy documents (IAM, S3 bucket policies)
    CLOUDFORMATION = "cloudformation"  # templates with AWSTemplateFormatVersion / AWS:: resources
    TERRAFORM = "terraform"  # *.tf, *.tf.json
    NGINX = "nginx"  # nginx.conf and server blocks
    MODEL = "model"  # serialized models, identified by magic bytes
    PYTHON = "python"  # *.py, *.pyi
    YAML = "yaml"  # other YAML
    JSON = "json"  # other JSON
    TEXT = "text"  # any other text file
    BINARY = "binary"  # binary that is not a model format (skipped)

    def __str__(self) -> str:
        return self.value


# Kinds whose content is text; scanners that read text may take any of these.
TEXT_KINDS = frozenset(k for k in FileKind if k not in (FileKind.MODEL, FileKind.BINARY))

# Dependency manifests and lock files: what the deps scanner audits (and what says "@generated"
# while being what ships).
DEPENDENCY_KINDS = frozenset(
    {
        FileKind.REQUIREMENTS,
        FileKind.LOCKFILE,
        FileKind.PYPROJECT,
        FileKind.PIPFILE,
        FileKind.SETUP_CFG,
        FileKind.CONDA_ENV,
    }
)
