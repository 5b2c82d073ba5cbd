"""Prepare the Chinese font-style experiment: check the two Arphic fonts and write its character list.

The characters are a seeded sample of GB2312's level-1 hanzi (the 3,755 most common characters, read from
Python's gb2312 codec, offline): 1,300 of them, of which the suite holds out 300 for test.

    python benchmarks/fonts/prepare.py            # writes benchmarks/fonts/chars-zh.txt
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

FONTS = {"Ming (AR PL UMing)": Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
         "Kai (AR PL UKai)": Path("/usr/share/fonts/truetype/arphic/ukai.ttc")}
APT = "apt-get install -y fonts-arphic-uming fonts-arphic-ukai"
HERE = Path(__file__).resolve().parent


def level1_hanzi() -> list[str]:
    """GB2312 rows 16-55: the level-1 hanzi, in the standard's (pinyin) order."""
    chars = []
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:  # the five unassigned cells at the end of row 55
                continue
    return chars


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1300, help="characters to sample")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "chars-zh.txt")
    args = parser.parse_args()
    missing = [f"{name}: {path}" for name, path in FONTS.items() if not path.is_file()]
    if missing:
        print(f"missing fonts ({'; '.join(missing)}); install them with: {APT}", file=sys.stderr)
        return 2
    chars = level1_hanzi()
    sample = sorted(random.Random(args.seed).sample(chars, args.count), key=chars.index)
    args.out.write_text("".join(sample) + "\n", encoding="utf-8")
    print(f"{len(sample)} of {len(chars)} level-1 hanzi -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
