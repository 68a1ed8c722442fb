"""`python -m aisec_ci` runs the CLI."""

from aisec_ci.cli import run

run()
