"""Real environments for the probe tests: a wheelhouse fetched once, venvs built from it offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Small wheels with the features the probe must handle: a console script (pygments), a compiled extension
# linked against system libraries (markupsafe), a pure package (six).
WHEELS = ("pygments==2.19.1", "markupsafe==3.0.2", "six==1.16.0")


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("wheelhouse")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--no-deps", "-d", str(dest), *WHEELS],
        check=True,
    )
    return dest
