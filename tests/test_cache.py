"""The results cache: an unchanged tree re-checks from it, any change that matters (the
file, a project module its analysis read, the settings) is seen, and it is safe to share."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_helpers import run_cli

from unguarded_workers.cli.engine import Job, results_cache
from unguarded_workers.config import Settings

PROJECT = {
    "app/__init__.py": "",
    "app/jobs.py": "def poll():\n    step()\n",
    "app/service.py": textwrap.dedent(
        """\
        import threading

        from .jobs import poll


        def work():
            step()


        threading.Thread(target=work).start()
        threading.Thread(target=poll).start()
        """
    ),
}
CACHE = ".unguarded-workers-cache"
# The cache must agree with a fresh run on every report, whatever its confidence: several of
# the changes below move a report between medium and low.
EVERY = "--min-confidence=low"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name, text in PROJECT.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def _lines(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    return run_cli(capsys, "check", EVERY, *args, ".").out.splitlines()


def test_an_unchanged_tree_is_answered_from_the_cache(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = _lines(capsys)
    assert len(first) == 2
    assert (workdir / CACHE / ".gitignore").read_text().endswith("*\n")
    assert (workdir / CACHE / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    records = {path: json.loads(path.read_text()) for path in (workdir / CACHE).glob("*/*.json")}
    entries = [path for path, record in records.items() if "violations" in record]
    assert len(entries) == 1  # the one file that could spawn
    # Its text hands no parameter to a spawn: it defines no helper, and nothing is kept of that.
    assert [record for record in records.values() if "helpers" in record] == []
    # The second run reads the entry: doctored, it shows through.
    record = json.loads(entries[0].read_text())
    record["violations"][0]["message"] = "from the cache"
    entries[0].write_text(json.dumps(record))
    assert "UW101 [medium] from the cache" in _lines(capsys)[0]
    assert _lines(capsys, "--no-cache") == first


def test_changes_that_matter_are_seen(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert len(_lines(capsys)) == 2
    # A project module the analysis read: poll gets its guard, its spawn is no longer reported.
    guarded = "def poll():\n    try:\n        step()\n    except Exception:\n        logging.exception('x')\n"
    (workdir / "app" / "jobs.py").write_text("import logging\n\n\n" + guarded)
    assert len(_lines(capsys)) == 1
    (workdir / "app" / "service.py").write_text(PROJECT["app/service.py"].replace("start()\n", "start()  # noqa\n", 1))
    assert len(_lines(capsys)) == 0
    assert len(_lines(capsys, "--disable-noqa")) == 1  # other settings, other entries


def test_each_job_in_one_process_reads_its_own_entries(tmp_path: Path) -> None:
    """Editors and tests run the command in-process, a run after another: a job's entries are
    its settings', its noqa switch's and its helpers', even when the settings object is shared
    (a cache once found by `id(settings)` handed one run another's results)."""
    settings = Settings()
    jobs = [
        Job(settings, cache_dir=str(tmp_path)),
        Job(settings, cache_dir=str(tmp_path), disable_noqa=True),
        Job(settings, cache_dir=str(tmp_path), helper_names=frozenset({"spawn"})),
    ]
    results_cache(jobs[0]).put("m.py", b"x", [], [])  # type: ignore[union-attr]
    assert [results_cache(job).get("m.py", b"x") for job in jobs] == [[], None, None]  # type: ignore[union-attr]


def test_a_rerun_parses_no_file_to_find_the_helpers(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding the project's spawn helpers parses each file that may spawn: kept, a re-run
    does not (a cached run otherwise spent most of its time there)."""
    from unguarded_workers.analysis import discovery

    helper = "import threading\n\n\ndef in_background(fn):\n    threading.Thread(target=fn).start()\n"
    (workdir / "app" / "spawner.py").write_text(helper)
    first = _lines(capsys)
    real, looked_at = discovery._helpers_of_tree, []

    def counted(tree: object, text: str, starts: object, options: object, path: str | None) -> frozenset[str]:
        looked_at.append(os.path.basename(path or ""))  # the file was parsed to get here
        return real(tree, text, starts, options, path)  # type: ignore[arg-type]

    monkeypatch.setattr(discovery, "_helpers_of_tree", counted)
    assert _lines(capsys) == first
    assert looked_at == []
    (workdir / "app" / "spawner.py").write_text(helper + "\n")  # changed: looked at again
    assert _lines(capsys) == first
    assert looked_at == ["spawner.py"]


def test_no_cache_writes_nothing(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _lines(capsys, "--no-cache")
    assert not (workdir / CACHE).exists()


def test_two_concurrent_runs_share_it_safely(workdir: Path) -> None:
    for number in range(200):
        (workdir / "app" / f"m{number}.py").write_text(PROJECT["app/service.py"])
    command = [sys.executable, "-m", "unguarded_workers", "check", EVERY, "-j", "2", "."]
    runs = [subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert outputs[0] == outputs[1]
    assert len(outputs[0].splitlines()) == 2 * 201
    assert not list((workdir / CACHE).glob("*/*.tmp"))
    again = subprocess.run(command, cwd=workdir, capture_output=True, text=True, check=False, timeout=300)
    assert again.stdout == outputs[0]


UNGUARDED = "def poll():\n    step()\n"
GUARDED = (
    "import logging\n\n\ndef poll():\n    try:\n        step()\n    except Exception:\n        logging.exception('x')\n"
)
SPAWNS = "import threading\n\nfrom {origin} import poll\n\nthreading.Thread(target=poll).start()\n"


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def _transitive(root: Path) -> None:
    _write(root, {"app/helpers.py": GUARDED.replace("poll", "step").replace("        step()", "        boom()")})


def _deleted(root: Path) -> None:
    (root / "app" / "jobs.py").unlink()


def _added(root: Path) -> None:
    _write(root, {"app/tasks.py": UNGUARDED})


def _module_to_package(root: Path) -> None:
    (root / "app" / "jobs.py").unlink()
    _write(root, {"app/jobs/__init__.py": GUARDED})


def _module_shadows_package(root: Path) -> None:
    _write(root, {"app/pkg.py": GUARDED})


def _init_appears(root: Path) -> None:
    _write(root, {"lib/app/__init__.py": ""})


def _init_disappears(root: Path) -> None:
    (root / "lib" / "app" / "__init__.py").unlink()


def _namespace_module_appears(root: Path) -> None:
    _write(root, {"ns/app/jobs.py": UNGUARDED})


def _symlink_retargeted(root: Path) -> None:
    link = root / "app" / "jobs.py"
    link.unlink()
    link.symlink_to("guarded_impl.py")


def _configuration(root: Path) -> None:
    _write(root, {"pyproject.toml": "[tool.unguarded-workers]\nharmless-calls = ['boom']\n"})


COMMON = {
    "app/__init__.py": "",
    "app/jobs.py": "from .helpers import step\n\n\ndef poll():\n    step()\n",
    "app/helpers.py": "def step():\n    boom()\n",
    # Two importers: the second reuses what the first found out about app.jobs.
    "app/s_a.py": SPAWNS.format(origin="app.jobs"),
    "app/s_b.py": SPAWNS.format(origin="app.jobs"),
}
SCENARIOS = {
    "a module a target's body calls changes": (COMMON, _transitive),
    "an imported module is deleted": (COMMON, _deleted),
    "a module an import did not find is added": (
        {"app/__init__.py": "", "app/s.py": SPAWNS.format(origin="app.tasks")},
        _added,
    ),
    "a module becomes a package": (COMMON, _module_to_package),
    "a module appears beside a package, which it shadows": (
        {"app/__init__.py": "", "app/pkg/__init__.py": UNGUARDED, "app/s.py": SPAWNS.format(origin="app.pkg")},
        _module_shadows_package,
    ),
    # `jobs` is lib/app/jobs.py while lib/app is no package (the directory that holds the
    # top-level modules), and nothing once it is one (lib/jobs.py is not there).
    "an __init__.py appears and moves the top-level package": (
        {"lib/app/jobs.py": UNGUARDED, "lib/app/s.py": SPAWNS.format(origin="jobs")},
        _init_appears,
    ),
    "an __init__.py disappears": (
        {"lib/app/__init__.py": "", "lib/app/jobs.py": UNGUARDED, "lib/app/s.py": SPAWNS.format(origin="jobs")},
        _init_disappears,
    ),
    # ns/ holds no __init__.py: `ns.app.jobs` is looked up from the directory above it.
    "a module appears in a namespace package": (
        {"ns/app/__init__.py": "", "ns/app/s.py": SPAWNS.format(origin="ns.app.jobs")},
        _namespace_module_appears,
    ),
    "a symlinked module is pointed elsewhere": (
        {
            "app/__init__.py": "",
            "app/unguarded_impl.py": UNGUARDED,
            "app/guarded_impl.py": GUARDED,
            "app/s.py": SPAWNS.format(origin="app.jobs"),
        },
        _symlink_retargeted,
    ),
    "the configuration changes": (COMMON, _configuration),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_cached_run_reports_what_no_cache_reports(
    scenario: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    files, change = SCENARIOS[scenario]
    _write(tmp_path, files)
    if scenario == "a symlinked module is pointed elsewhere":
        (tmp_path / "app" / "jobs.py").symlink_to("unguarded_impl.py")
    before = run_cli(capsys, "check", EVERY, ".")
    assert before.out
    change(tmp_path)
    cached = run_cli(capsys, "check", EVERY, ".")
    fresh = run_cli(capsys, "check", EVERY, "--no-cache", ".")
    assert fresh.out != before.out, "the change changes nothing: the scenario proves nothing"
    assert (cached.status, cached.out, cached.err) == (fresh.status, fresh.out, fresh.err)


def _doctored(root: Path) -> None:
    for entry in (root / CACHE).glob("*/*.json"):
        record = json.loads(entry.read_text())
        for violation in record.get("violations", []):
            violation["message"] = "from the cache"
        entry.write_text(json.dumps(record))


@pytest.mark.parametrize("other", ["interpreter version", "interpreter", "tool version", "tool's files"])
def test_entries_of_another_interpreter_or_tool_are_not_used(
    other: str, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ast's positions differ between interpreters, and an edited checkout of the same
    version is another tool: their entries are not read (a doctored entry shows when it is)."""
    from unguarded_workers.cli import cache

    first = _lines(capsys)
    _doctored(workdir)
    assert "from the cache" in _lines(capsys)[0]
    if other == "interpreter version":
        monkeypatch.setattr(sys, "version", "3.99.0 (main) [another build]")
    elif other == "interpreter":
        monkeypatch.setattr(sys, "implementation", type("Impl", (), {"name": "pypy", "cache_tag": "pypy-99"})())
    elif other == "tool version":
        monkeypatch.setattr(cache, "__version__", "99.0")
    else:
        monkeypatch.setattr(cache, "_tool", lambda: "an edited checkout")
    assert _lines(capsys) == first
