"""Run records (issue 16, docs/runrecord.md): ``envsnap run`` records one result with the environment it ran in,
what it loaded, its code, data and outputs; ``envsnap rerun`` checks and reproduces it.

Modules: ``record`` (the format), ``data`` (fingerprints), ``execute`` (running a command), ``trace`` (what a
process tree loaded), ``libraries`` (who owns a loaded file), ``gpus``, ``assemble`` and ``recorder`` (making a
record), ``rerun``, ``tracking`` (attaching a record to MLflow or W&B)."""
