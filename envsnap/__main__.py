try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the command line itself loads: one line, exit 130, as anywhere else
    import sys

    print("envsnap: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())
