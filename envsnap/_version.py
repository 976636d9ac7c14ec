"""envsnap's version: the one place it is written. The wheel's metadata (hatch reads this file, see
pyproject.toml), ``envsnap --version``, the lock's ``generator``, the docker image labels and the HTTP
User-Agent all take it from here."""

__version__ = "0.1.0"

# What envsnap sends as its HTTP User-Agent when it reads an index page or downloads an archive.
USER_AGENT = f"envsnap/{__version__}"
