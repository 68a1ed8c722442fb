"""The GitHub Action: turn the container's environment into a scan and publish it.

`env.py` reads the environment into a `RunPlan`; `run.py` runs the same
pipeline the CLI runs and then the publishers (`publish_sarif.py`,
`publish_comment.py`, `publish_summary.py`), each of which degrades to a
warning instead of changing the exit code.
"""
