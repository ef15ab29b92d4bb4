"""`python -m unguarded_workers`: the same as the `unguarded-workers` command."""

from .cli import main

raise SystemExit(main())
