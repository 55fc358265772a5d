"""Prefect only: flows, tasks, events, artifacts, deployments and serve. The work itself is in the other rooms."""
