"""The published studies, one TOML spec each (`vidrec study studies/NAME.toml`).

    demo.toml     what `vidrec demo` runs: synthetic videos with a known answer, 2 CPU cores
    hmdb51.toml   the original study's recipe on HMDB51's three official splits

Packaged with vidrec, so `vidrec study hmdb51` finds the spec in an installed image too.
"""

from __future__ import annotations

import os

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name: str) -> str:
    """The packaged spec file of study `name`."""
    return os.path.join(HERE, f"{name}.toml")
