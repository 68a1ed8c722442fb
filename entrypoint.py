#!/usr/bin/env python3
"""Container entrypoint of the aisec-ci GitHub Action.

Thin on purpose: the environment is translated and the run is driven by
`aisec_ci.action.run`, which shares the scan pipeline with the CLI.
"""

from __future__ import annotations

import sys

from aisec_ci.action.run import main

if __name__ == "__main__":
    sys.exit(main())
