"""`python -m unguarded_workers`: the same as the `unguarded-workers` command."""

from .command import main

raise SystemExit(main())
