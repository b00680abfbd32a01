"""`make footage`: real photographs from Debian packages, cached for `vidrec camera`.

Debian's ``opencv-doc`` ships OpenCV's sample data and ``python3-skimage`` scikit-image's:
photographs of real scenes (a mandrill, fruit, buildings, a squirrel, a football player,
a cat, an astronaut, coffee, a motorcycle...). `fetch` downloads the packages with
``apt-get download`` (no root, no install), unpacks the photographs named in `SOURCES`
into ``.cache/footage/photos`` and marks the folder complete; a complete folder is kept
(nothing is downloaded at run time, and twice never). Where a package cannot be had (no
apt, no network), it says so in one line and returns False: the tests that need real
footage skip with that reason.

    python -m pipeline.footage [DEST]
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile

# Photographs of real scenes (no drawings, logos, charts or calibration boards), each at
# least 194 px on its shorter side: one source film each. package -> (folder, files).
OPENCV = (
    "HappyFish.jpg", "aero1.jpg", "aero3.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg",
    "basketball1.png", "board.jpg", "box_in_scene.png", "building.jpg", "butterfly.jpg",
    "chicky_512.png", "ela_original.jpg", "fruits.jpg", "graf1.png", "home.jpg",
    "leuvenA.jpg", "licenseplate_motion.jpg", "messi5.jpg", "orange.jpg", "pic2.png",
    "rubberwhale1.png", "smarties.png", "squirrel_cls.jpg", "starry_night.jpg", "stuff.jpg",
)
SKIMAGE = (
    "astronaut.png", "brick.png", "camera.png", "chelsea.png", "coffee.png", "grass.png",
    "gravel.png", "hubble_deep_field.jpg", "ihc.png", "motorcycle_left.png", "retina.jpg",
    "rocket.jpg",
)
SOURCES = {"opencv-doc": ("usr/share/doc/opencv-doc/examples/data", OPENCV),
           "python3-skimage": ("usr/lib/python3/dist-packages/skimage/data", SKIMAGE)}
PHOTOGRAPHS = OPENCV + SKIMAGE
DEFAULT_DEST = ".cache/footage"
COMPLETE = ".complete"


def folder(dest: str = DEFAULT_DEST) -> str:
    """Where the photographs are (or will be)."""
    return os.path.join(dest, "photos")


def ready(dest: str = DEFAULT_DEST) -> bool:
    """Whether `fetch` finished there."""
    return os.path.exists(os.path.join(folder(dest), COMPLETE))


def _unpack(package: str, tmp: str) -> str:
    """Downloads and unpacks `package` under `tmp`; its root. Raises on failure."""
    subprocess.run(["apt-get", "download", package], cwd=tmp, check=True, capture_output=True,
                   text=True, timeout=600)
    deb = glob.glob(os.path.join(tmp, f"{package}_*.deb"))[0]
    root = os.path.join(tmp, package)
    subprocess.run(["dpkg-deb", "-x", deb, root], check=True, capture_output=True, text=True,
                   timeout=600)
    return root


def fetch(dest: str = DEFAULT_DEST) -> bool:
    """Caches the photographs; True when they are there, False (said why) when not."""
    if ready(dest):
        return True
    out = folder(dest)
    with tempfile.TemporaryDirectory() as tmp:
        for package, (data, names) in SOURCES.items():
            try:
                root = _unpack(package, tmp)
            except (OSError, IndexError, subprocess.SubprocessError) as e:
                why = getattr(e, "stderr", "") or str(e)
                print(f"footage: skipped, {package} cannot be had here "
                      f"({why.strip()[-200:]}); the real-footage tests will skip",
                      file=sys.stderr)
                return False
            missing = [n for n in names if not os.path.exists(os.path.join(root, data, n))]
            if missing:
                print(f"footage: skipped, {package} lacks {missing}", file=sys.stderr)
                return False
            os.makedirs(out, exist_ok=True)
            for name in names:
                shutil.copyfile(os.path.join(root, data, name), os.path.join(out, name))
    open(os.path.join(out, COMPLETE), "w").close()
    print(f"footage: {len(PHOTOGRAPHS)} photographs of Debian's {' and '.join(SOURCES)} in "
          f"{out}")
    return True


if __name__ == "__main__":
    fetch(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_DEST)
