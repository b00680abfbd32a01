"""`make footage`: real photographs from a Debian package, cached for `vidrec camera`.

Debian's ``opencv-doc`` ships OpenCV's sample data: photographs of real scenes (a
mandrill, fruit, buildings, a squirrel, a football player...). `fetch` downloads the
package with ``apt-get download`` (no root, no install), unpacks the photographs named
in `PHOTOGRAPHS` into ``.cache/footage/opencv-doc`` and marks the folder complete; a
complete folder is kept (nothing is downloaded at run time, and twice never). Where
the package cannot be had (no apt, no network), it says so in one line and returns
False: the tests that need real footage skip with that reason.

    python -m pipeline.footage [DEST]
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile

PACKAGE = "opencv-doc"
DATA = "usr/share/doc/opencv-doc/examples/data"
# Colour photographs of real scenes (no drawings, logos, charts or calibration boards),
# each at least 194 px on its shorter side: one source film each.
PHOTOGRAPHS = (
    "HappyFish.jpg", "aero1.jpg", "aero3.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg",
    "basketball1.png", "board.jpg", "box_in_scene.png", "building.jpg", "butterfly.jpg",
    "chicky_512.png", "ela_original.jpg", "fruits.jpg", "graf1.png", "home.jpg",
    "leuvenA.jpg", "licenseplate_motion.jpg", "messi5.jpg", "orange.jpg", "pic2.png",
    "rubberwhale1.png", "smarties.png", "squirrel_cls.jpg", "starry_night.jpg", "stuff.jpg",
)
DEFAULT_DEST = ".cache/footage"
COMPLETE = ".complete"


def folder(dest: str = DEFAULT_DEST) -> str:
    """Where the photographs are (or will be)."""
    return os.path.join(dest, PACKAGE)


def ready(dest: str = DEFAULT_DEST) -> bool:
    """Whether `fetch` finished there."""
    return os.path.exists(os.path.join(folder(dest), COMPLETE))


def fetch(dest: str = DEFAULT_DEST) -> bool:
    """Caches the photographs; True when they are there, False (said why) when not."""
    if ready(dest):
        return True
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run(["apt-get", "download", PACKAGE], cwd=tmp, check=True,
                           capture_output=True, text=True, timeout=600)
            deb = glob.glob(os.path.join(tmp, f"{PACKAGE}_*.deb"))[0]
            subprocess.run(["dpkg-deb", "-x", deb, os.path.join(tmp, "x")], check=True,
                           capture_output=True, text=True, timeout=600)
        except (OSError, IndexError, subprocess.SubprocessError) as e:
            why = getattr(e, "stderr", "") or str(e)
            print(f"footage: skipped, {PACKAGE} cannot be had here ({why.strip()[-200:]}); "
                  "the real-footage tests will skip", file=sys.stderr)
            return False
        out = folder(dest)
        os.makedirs(out, exist_ok=True)
        missing = [p for p in PHOTOGRAPHS if not os.path.exists(os.path.join(tmp, "x", DATA, p))]
        if missing:
            print(f"footage: skipped, {PACKAGE} lacks {missing}", file=sys.stderr)
            return False
        for name in PHOTOGRAPHS:
            shutil.copyfile(os.path.join(tmp, "x", DATA, name), os.path.join(out, name))
    open(os.path.join(out, COMPLETE), "w").close()
    print(f"footage: {len(PHOTOGRAPHS)} photographs of Debian's {PACKAGE} in {out}")
    return True


if __name__ == "__main__":
    fetch(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_DEST)
