"""`python -m colorseg` (used by DDP launchers, which re-run the command line)."""

from colorseg.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
