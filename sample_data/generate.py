"""Regenerate every file in this folder from the seeded generator.

Run from the repository root: ``python sample_data/generate.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # works from a checkout without installing the package

from workbench.samplebook import SEED, write_sample  # noqa: E402


def main() -> None:
    for path in write_sample(HERE):
        print(f"{path.name:24} {path.stat().st_size:>11,} bytes")
    print(f"seed {SEED}")


if __name__ == "__main__":
    main()
