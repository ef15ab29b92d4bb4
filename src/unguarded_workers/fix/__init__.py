"""The autofix: put the guard at each reported spawn site (needs libcst; imported only by `fix`)."""
