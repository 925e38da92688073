"""`python -m monitor` is the `monitor` console script."""

from monitor.cli import main

main()
