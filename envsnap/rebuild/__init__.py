"""Rebuilders: turn a lock back into an environment (venv, docker, conda).

Each rebuilder first produces a plan (what will be built, from what, pinned how), then acts on it;
``--dry-run`` prints the plan. Every rebuild runs the compatibility check first and verifies the result.
"""
