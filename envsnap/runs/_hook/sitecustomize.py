# envsnap run's hook for Python processes (docs/runrecord.md, "What the process tree loaded").
#
# `envsnap run` puts this folder first on PYTHONPATH, so every Python process the command starts imports this
# module at start-up. At exit it writes one JSON file into $ENVSNAP_RUN_HOOK_DIR: the modules it imported
# (name -> file) and the files its own /proc/self/maps held, so that a library loaded and unloaded between two
# samples, or by a process too short-lived to be sampled, is still recorded. Then it hands over to the
# sitecustomize this one shadows, if any. Standard library only, Python 3.7 syntax: it runs inside whatever
# interpreter the command uses.
import os
import sys


def _envsnap_run_hook() -> None:
    out_dir = os.environ.get("ENVSNAP_RUN_HOOK_DIR")
    if not out_dir:
        return
    # What the program imported, not what this hook did: the hook's own module (unless it handed over to one it
    # shadows), atexit when the hook was the one to import it, and json, imported once the lists are made.
    ours = {"atexit"} if "atexit" not in sys.modules else set()
    own = sys.modules.get("sitecustomize")
    import atexit

    def write() -> None:
        try:
            modules = {}  # type: dict[str, str]
            for name, module in list(sys.modules.items()):
                if name in ours or (name == "sitecustomize" and module is own):
                    continue
                path = getattr(module, "__file__", None)
                modules[name] = path if isinstance(path, str) else ""
            maps = _maps()
            import json  # after the lists: its modules and its _json extension are the hook's, not the program's

            data = {
                "pid": os.getpid(),
                "executable": sys.executable,
                "version": "%d.%d.%d" % sys.version_info[:3],
                "prefix": sys.prefix,
                "base_prefix": getattr(sys, "base_prefix", sys.prefix),
                "modules": modules,
                "maps": sorted(set(maps)),
                # What importing json mapped: the hook's, which a sample of the maps taken now may still see.
                "hook_maps": sorted(set(_maps()) - set(maps)),
            }
            name = os.path.join(out_dir, "py-%d.json" % os.getpid())
            tmp = name + ".tmp"
            with open(tmp, "w") as fh:
                json.dump(data, fh)
            os.replace(tmp, name)
        except BaseException:  # never change how the user's program ends (a late Ctrl-C included)
            pass

    atexit.register(write)


def _maps():  # type: () -> list[str]
    """The files this process has mapped executable."""
    maps = []  # type: list[str]
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                parts = line.split(None, 5)
                if len(parts) == 6 and "x" in parts[1] and parts[5].startswith("/"):
                    maps.append(parts[5].rstrip("\n"))
    except OSError:
        pass
    return maps


def _chain() -> None:
    # The sitecustomize this one shadows (a distribution's or a site's): import it as if we were not here, and
    # leave sys.path as the program would see it without envsnap: this folder out (it stays on PYTHONPATH for
    # the processes the program starts), and what that sitecustomize added kept.
    here = os.path.dirname(os.path.abspath(__file__))
    own = sys.modules.pop("sitecustomize", None)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    try:
        import importlib

        importlib.import_module("sitecustomize")
    except ImportError as exc:
        if getattr(exc, "name", None) != "sitecustomize":
            raise
    finally:
        if own is not None and "sitecustomize" not in sys.modules:
            sys.modules["sitecustomize"] = own  # the import of this module ends by looking itself up there


_envsnap_run_hook()
_chain()
