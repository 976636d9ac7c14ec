"""The compare layer: a lock against an environment (verify), a lock against a lock (diff)."""
