"""Run the reliability tests and write docs/reliability.md: the matrix (case, expected, result) and the counts.

Usage: .venv/bin/python scripts/reliability_matrix.py [--out docs/reliability.md] [--areas PREFIX ...]
`--areas` runs only the areas whose title starts with a PREFIX and keeps the other areas' rows (and
the printed numbers) from the existing file: the whole run takes most of an hour on a busy machine.
Each row is one test (one row per parametrized case): its docstring's first line (or its name) is
the expectation, its parametrize id the case, and the JUnit outcome the result.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The test files that make up the matrix, by area.
AREAS = {
    "Bad input": ["tests/test_bad_input.py", "tests/test_properties.py", "tests/test_settings_errors.py"],
    "Hostile files (issue 16: links, dotfiles, YAML bombs, bad front matter, unreadable folders)": [
        "tests/test_hostile_input.py"
    ],
    "Hostile pages and servers (issue 16: huge pages, slow servers, internal redirects, made-up dates)": [
        "tests/test_hostile_pages.py"
    ],
    "Operations (issue 16: closed pipes, full disks, read-only folders, signals, batch lines, cache)": [
        "tests/test_broken_pipe.py",
        "tests/test_storage_faults.py",
        "tests/test_signals.py",
        "tests/test_batch_lines.py",
        "tests/test_embedding_cache.py",
    ],
    "Faults": ["tests/test_faults.py"],
    "Telegram under faults, floods and load": ["tests/telegram/test_telegram_reliability.py"],
    "Scale-out (issue 14: the Milvus backend, several bot workers)": [
        "tests/milvus/test_contract.py",
        "tests/milvus/test_store.py",
        "tests/milvus/test_sync.py",
        "tests/telegram/test_workers.py",
    ],
    "Telegram security and refusals": [
        "tests/telegram/test_telegram_e2e.py::test_forged_and_stale_buttons_are_refused_politely",
        "tests/telegram/test_telegram_e2e.py::test_allowlist_refuses_messages_buttons_and_inline",
        "tests/telegram/test_telegram_e2e.py::test_allowed_user_and_admin_reload",
        "tests/telegram/test_telegram_e2e.py::test_token_never_appears_in_logs_at_any_level",
        "tests/telegram/test_telegram_e2e.py::test_second_instance_with_the_same_token_is_reported_and_stops_the_first",
        "tests/telegram/test_telegram_e2e.py::test_unreachable_api_is_retried_then_reported",
        "tests/telegram/test_telegram_e2e.py::test_long_reply_is_split_under_the_limit_without_breaking_html",
        "tests/test_project.py::test_env_is_git_ignored",
    ],
}


def docstrings(path: Path) -> dict[str, str]:
    """First docstring line of each test function in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
            doc = ast.get_docstring(node)
            out[node.name] = doc.strip().splitlines()[0] if doc else ""
    return out


def expectation(name: str, doc: str) -> str:
    return doc or name.removeprefix("test_").replace("_", " ").capitalize()


def kept_rows(path: Path, areas: list[str]) -> tuple[dict[str, list[tuple[str, str, str]]], str]:
    """The rows of `areas` in an existing matrix, and the numbers its run printed."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    rows: dict[str, list[tuple[str, str, str]]] = {}
    area = None
    for line in text.splitlines():
        if line.startswith("## "):
            area = line[3:] if line[3:] in areas else None
        elif area and line.startswith("| ") and not line.startswith("| case |"):
            case, expected, result = line[2:-2].rsplit(" | ", 2)
            rows.setdefault(area, []).append((case, expected, result))
    printed = re.search(r"Numbers printed by this run:\n\n```\n(.*?)\n```", text, re.S)
    return rows, printed.group(1) if printed else ""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "reliability.md", help="where to write the matrix")
    p.add_argument("--areas", nargs="+", metavar="PREFIX", help="run only these areas; keep the others' rows")
    args = p.parse_args()
    run_areas = [a for a in AREAS if not args.areas or any(a.startswith(x) for x in args.areas)]
    kept, kept_printed = kept_rows(args.out, [a for a in AREAS if a not in run_areas])
    targets = [t for a in run_areas for t in AREAS[a]]
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "junit.xml"
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}", "-s", *targets],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        cases = ET.parse(xml).getroot().iter("testcase")
        results = {}
        for case in cases:
            outcome = "pass"
            for tag in ("failure", "error", "skipped"):
                if case.find(tag) is not None:
                    outcome = {"failure": "FAIL", "error": "ERROR", "skipped": "skipped"}[tag]
            results[(case.get("file") or case.get("classname"), case.get("name"))] = (outcome, case.get("time"))
    found = (re.search(r"(load:|\d+ kills over|\d+ log lines searched).*", line) for line in run.stdout.splitlines())
    printed = "\n".join(m.group(0) for m in found if m) or kept_printed
    rows_by_area: dict[str, list[tuple[str, str, str]]] = {}
    total = passed = 0
    for area, ts in AREAS.items():
        rows = rows_by_area.setdefault(area, [])
        if area not in run_areas:
            rows += kept.get(area, [])
            total += len(rows)
            passed += sum(r == "pass" for _, _, r in rows)
            continue
        for target in ts:
            path, _, only = target.partition("::")
            module = path.removesuffix(".py").replace("/", ".")
            docs = docstrings(ROOT / path)
            for (classname, name), (outcome, _) in results.items():
                base, _, param = name.partition("[")
                if classname not in (module, module.split(".", 1)[1]) or (only and base != only):
                    continue
                if base not in docs:
                    continue
                case = param.rstrip("]") or "—"
                rows.append(
                    (
                        f"`{base.removeprefix('test_')}` {case if case != '—' else ''}".strip(),
                        expectation(base, docs[base]),
                        outcome,
                    )
                )
                total += 1
                passed += outcome == "pass"
    lines = [
        "# Reliability matrix",
        "",
        f"Generated by `scripts/reliability_matrix.py` on {date.today()} from a run of the tests below "
        f"(`pytest --junitxml`): **{passed} of {total} cases pass**. Re-run the script to refresh it.",
        "",
        "Counts (see the tests for the details):",
        "",
        "- inputs tried: 14 odd corpus files and folders, 17 damaged indexes (10 truncated FAISS files, 3 corrupted "
        "SQLite files, 4 foreign manifests) plus FAISS/SQLite disagreeing, 10 odd questions, 5 invalid settings, "
        "and 25 + 40 + 40 hypothesis examples (arbitrary questions; arbitrary answers and corpus text through every "
        "Telegram view);",
        "- hostile files (issue 16): 4 linked files (symlinks out and in, a hard link), 6 + 3 hidden names, 4 YAML "
        "anchor/alias forms (a 1 KB alias bomb among them), 20 bad front-matter values, unreadable files and "
        "folders, and 60 + 300 + 150 hypothesis examples (arbitrary file names, front-matter values, file "
        "contents);",
        "- hostile pages and servers (issue 16): 12 redirects to internal addresses and schemes, 19 addresses "
        "classified, 2 trickling servers, 3 hostile markdown bodies by URL, 5 malformed URLs, 4 huge pages, 3 pages "
        "with hostile metadata, 17 date cases, and 40 + 40 hypothesis examples (body text full of dates; arbitrary "
        "HTML);",
        "- operations (issue 16): 7 commands into a closed pipe plus `--batch | head -1`, 7 settings problems "
        "(bad log level, undecodable, unreadable and FIFO `.env`, NaN and negative thresholds, NUL in a path) in "
        "each of 5 commands, a full disk (tmpfs) at 5 fill levels plus a full corpus disk and RLIMIT_FSIZE, 2 "
        "read-only folders (bind mounts), 4 odd index paths, SIGINT/SIGTERM during builds, downloads and adds and "
        "at every call of the writer's constructor, 5 cache-pruning rounds, and 150 + 200 + 120 hypothesis "
        "examples (float settings, settings files, batch lines);",
        "- faults injected: 20 `kill -9` during builds, 6 rebuilds under 3 answering threads, a missing and a "
        "damaged index under the running bot, the Bot API slowed (0.7 s per call) and killed mid-reply then "
        "restarted on the same port, an unreachable API at start-up, a second instance on the same token;",
        "- scale-out (issue 14): the Milvus contract suite on milvus-lite (the dev and multi questions, the views, "
        "an article removed and added back, a server restart, two processes at once, an unreachable server, a "
        "missing collection) and two real worker processes behind a round-robin proxy (every update answered "
        "once, buttons across workers, one flood limit and send budget, /reload reaching both, a killed worker "
        "restarted, the lead passed on, a killed supervisor);",
        "- load held: 50 chats x 20 questions at once (1,000 questions), and a 30-message flood from one user;",
        "- nothing lost: every accepted question answered exactly once across the outage; "
        "every load question answered.",
        "",
        "What “accepted” means: an update is accepted once getUpdates has handed it to the bot. Its reply is then",
        "retried while the API is unreachable (`bot/telegram/delivery.py`); updates sent while the API is down are",
        "Telegram's to keep until the bot polls again.",
        "",
        "What the load test found: the bot used to stall part-way through the 50-chat run, CPU idle. The",
        "“typing…” task was cancelled while its request was in flight, and a cancelled httpx request can leave",
        "its pooled connection marked busy for good (encode/httpcore#1093, httpcore 1.0.9); once the 16",
        "connections of the reply pool had leaked, every answer waited for a connection that never came. The",
        "typing task is now told to stop and let finish (`bot/telegram/handlers.py`, `typing`), and",
        "`answers_ready_while_typing_is_in_flight_abandon_no_api_call` checks through the emulator that the bot",
        "hangs up on no API call.",
        "",
    ]
    if printed:
        lines += ["Numbers printed by this run:", "", "```", printed, "```", ""]
    for area, rows in rows_by_area.items():
        lines += [f"## {area}", "", "| case | expected | result |", "|---|---|---|"]
        lines += [f"| {c} | {e.replace('|', '/')} | {r} |" for c, e, r in rows]
        lines.append("")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"{args.out}: {passed}/{total} cases pass")
    return 0 if passed == total and run.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
