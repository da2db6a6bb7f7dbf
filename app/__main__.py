"""`python -m app` is the same command line as `convodesk`."""

from app.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
