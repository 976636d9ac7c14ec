"""The Dockerfile spec: base image choice and apt pins (pure; used by export and rebuild)."""
