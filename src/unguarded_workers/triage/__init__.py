"""Log triage: from the worker failures in production logs to the spawn lines that started them.

- `logs`: reads logs line by line (bounded memory) into `LoggedFailure`s;
- `findings`: groups identical failures and maps each to its spawn site(s) through the analysis.
"""
