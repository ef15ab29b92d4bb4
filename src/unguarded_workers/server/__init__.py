"""`unguarded-workers server`: a Language Server Protocol server over stdio, an adapter
beside the command line over the same analysis and fixer (needs pygls; loaded only by
that command)."""
