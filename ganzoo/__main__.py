"""`python -m ganzoo` (and `torchrun -m ganzoo`) runs the CLI."""

from ganzoo.cli import main

if __name__ == "__main__":
    main()
