"""`aisec-ci image`: built container images (docker save tarballs, OCI layouts, root filesystems)
scanned without a Docker engine: OS and Python packages, secrets in every layer, model files and
the image config."""
