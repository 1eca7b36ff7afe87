"""What the Scripts/gen_*.py fixture scripts share: the pinned versions, checked at run time before
anything is computed, and the Tests/Fixtures folder they write into.

A script in Scripts/ imports it directly (`python3 Scripts/gen_x.py` puts Scripts/ on sys.path):
    from fixture_common import fixture_dir, require
    PINNED = {"torch": "2.13.0+cpu", "numpy": "2.4.6"}
    require(PINNED)
    OUT = fixture_dir("training")
"""
import importlib.metadata
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "Tests", "Fixtures")


def require(pins):
    """Exits unless each distribution (pip's name) has its pinned version. A pin without a local
    part ("2.13.0") accepts every build of that version ("2.13.0+cpu")."""
    for name, want in pins.items():
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            sys.exit(f"{name} is not installed, {want} pinned: pip install {name}=={want}")
        found = have if "+" in want else have.split("+")[0]
        if found != want:
            sys.exit(f"{name} {have} found, {want} pinned: pip install {name}=={want}")


def fixture_dir(*parts):
    """Tests/Fixtures/<parts>, created when missing."""
    path = os.path.join(FIXTURES, *parts)
    os.makedirs(path, exist_ok=True)
    return path
