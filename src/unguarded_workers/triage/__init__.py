"""Log triage: from the worker failures in production logs to the spawn lines that started them.

- `logs`: reads logs line by line (bounded memory) into `LoggedFailure`s (`failures`), taking
  off what wraps the text (`formats`: JSON, per-line prefixes), finding the headers
  (`headers`) and reading Python's rendering of each exception (`tracebacks`), telling apart
  the tracebacks of threads that died together (`interleaving`);
- `findings`: groups identical failures and maps each to its spawn site(s) through the analysis.
"""
