try:
    from .cli import EXIT_INTERRUPTED, main
except KeyboardInterrupt:  # Ctrl-C while the command line itself loads: one line, exit 130, as anywhere else
    import sys

    print("envsnap: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

code = main()
if code == EXIT_INTERRUPTED:
    import contextlib
    import os
    import sys

    # CPython 3.11 marks a Ctrl-C that lands inside exec()'d code (dataclasses build their methods with exec,
    # so any import of a model can be hit) as unhandled even though main() handled it, and the interpreter then
    # kills itself with SIGINT at exit: status -2 instead of 130. main() has already stopped every command it
    # started and printed its one line, so leave without finalization.
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)
raise SystemExit(code)
