"""The artifacts layer: pinning files, fetching, checking and caching them, bundles, repacking wheels."""
