"""What a target interpreter runs to probe itself:
``python -E -B _pyprobe_run.py [--files] [--cache PATH] [--memo PATH] [--wait]``.

The probe (``_pyprobe``) is imported, not run as the script: an imported module is loaded from the byte code the
installer (or envsnap's own first import of it) wrote into ``__pycache__`` when that is for the target's Python
version, where a script is compiled on every run (9 ms of a 70 ms probe, on the critical path of a rebuild's
verify). ``-B`` keeps the target from writing byte code into envsnap's folder: another version compiles it, as a
script would be. This folder is ``sys.path[0]``, as it was for the script, so the probe finds itself first and
leaves that entry out of the environment's path as before. Once it has answered, it ends at once (``os._exit``).
The standard library only, like the probe."""

if __name__ == "__main__":
    import os
    import sys

    import _pyprobe  # type: ignore[import-not-found]  # this folder, sys.path[0]

    _pyprobe.run(sys.argv[1:])
    # The answer is out: the process ends without the interpreter's teardown, which frees every object the read
    # made (5-10 ms after a rebuild's installer, on its critical path) and runs the target environment's exit
    # handlers (a .pth file's atexit, such as a coverage hook writing its data file in the working directory).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
