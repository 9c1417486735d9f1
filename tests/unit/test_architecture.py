"""The architecture as a test: imports point one way, and none closes a cycle.

Every import counts, wherever it is written: at module level, inside a function, or under
`if TYPE_CHECKING`. A deferred import still couples two modules; it only hides the coupling.
"""

from __future__ import annotations

import ast
import graphlib
from dataclasses import dataclass
from pathlib import Path

# The architecture. Each package may import itself and the packages listed here, nothing else.
# The entry points (`python -m bot`, `python -m scheduler`) wire the parts together and may
# import anything; nothing imports them.
ENTRY_POINTS = {"bot.__main__", "scheduler.__main__", "webapp.__main__"}
ALLOWED: dict[str, set[str]] = {
    "bot": {"core", "reports", "procedures", "storage"},  # Telegram front end
    "scheduler": {"core", "procedures", "storage"},  # the periodic jobs
    "reports": {"procedures", "storage"},  # files and periodic reports
    "core": {"procedures", "storage"},  # configuration and services both processes share
    "procedures": {"storage"},  # the business: no Telegram, no texts
    "storage": set(),  # models, engine, migrations
    "emulator": set(),  # the local Bot API knows nothing of the bot
    # the heads' Mini App: reads through the procedures' queries, in the bot's texts
    "webapp": {"bot", "core", "reports", "procedures", "storage"},
}
# Top-level folders that are not part of the application: they may import anything.
OUTSIDE = {"tests", "bench"}

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Import:
    source: str  # importing module, dotted
    target: str  # imported module of ours, dotted
    where: str  # file:line


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(root: Path, packages: set[str]) -> list[Import]:
    """Every import from one of our modules to another, resolved to the module it names."""
    files = {
        module_name(path, root): path
        for package in sorted(packages)
        for path in sorted((root / package).rglob("*.py"))
    }
    found = []
    for source, path in files.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = source.split(".")
                    if not is_package:
                        anchor.pop()
                    base = ".".join(anchor[: len(anchor) - (node.level - 1)])
                    base = f"{base}.{node.module}" if node.module else base
                else:
                    base = node.module or ""
                # `from package import name` names a module when `name` is one of ours
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base
                    for alias in node.names
                ]
            else:
                continue
            where = f"{path.relative_to(root)}:{node.lineno}"
            for target in targets:
                # `import a.b.c` names a.b.c; if c is not a module of ours, its package
                while target and target not in files and "." in target:
                    target = target.rpartition(".")[0]
                if target in files and target != source:
                    found.append(Import(source, target, where))
    return list(dict.fromkeys(found))  # `from a import b, c` is one import of a


def layering_violations(found: list[Import]) -> list[str]:
    violations = []
    for edge in found:
        if edge.target in ENTRY_POINTS:
            violations.append(f"{edge.where}: {edge.source} imports the entry point {edge.target}")
        if edge.source in ENTRY_POINTS:
            continue
        source, target = edge.source.split(".")[0], edge.target.split(".")[0]
        if source != target and target not in ALLOWED[source]:
            allowed = ", ".join(sorted(ALLOWED[source])) or "nothing of ours"
            violations.append(
                f"{edge.where}: {edge.source} imports {edge.target}; {source} may import {allowed}"
            )
    return violations


def cycles(found: list[Import]) -> list[str]:
    """The import cycles a depth-first search meets, each as a chain of file:line; none if none."""
    graph: dict[str, list[Import]] = {}
    for edge in found:
        graph.setdefault(edge.source, []).append(edge)
    done: set[str] = set()
    reported = []

    def visit(module: str, path: list[Import], on_path: set[str]) -> None:
        for edge in graph.get(module, []):
            if edge.target in on_path:
                chain = [*path, edge]
                loop = chain[next(i for i, e in enumerate(chain) if e.source == edge.target) :]
                reported.append(
                    " -> ".join(f"{e.source} ({e.where})" for e in loop) + f" -> {edge.target}"
                )
            elif edge.target not in done:
                visit(edge.target, [*path, edge], on_path | {edge.target})
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module, [], {module})
    return reported


# procedures/ holds one package per record type beside the kernel. One record type reads
# another through its `queries`, and may use its `rules` and `actions` (data); any other module
# of another record type is its internals. The crossings below are use cases that start a step
# of another record type, each named with why; a new one fails the test until it is named here.
RECORD_TYPES = {
    "complaints",
    "returns",
    "consumer_complaints",
    "equipment",
    "vendors",
    "people",
    "masterdata",
}
PUBLIC_MODULES = {"queries", "rules", "actions"}
KNOWN_CROSSINGS = {
    # a nonconforming complaint starts the buyer's quality return (P1 -> P2)
    ("procedures.complaints.handling", "procedures.returns"),
    # goods coming back from a consumer complaint are linked to the return that takes them
    ("procedures.returns.intake", "procedures.consumer_complaints.handling"),
    # goods leave the warehouse (an exchange's replacement) only through the one outbound check
    ("procedures.returns.goods", "procedures.masterdata.outbound"),
}


def record_type_crossings(found: list[Import]) -> list[str]:
    """Imports of another record type's internals that are not named in KNOWN_CROSSINGS."""
    violations = []
    for edge in found:
        source, target = edge.source.split("."), edge.target.split(".")
        if source[0] != "procedures" or target[0] != "procedures":
            continue
        if len(source) < 2 or len(target) < 2 or source[1] == target[1]:
            continue
        if source[1] not in RECORD_TYPES or target[1] not in RECORD_TYPES:
            continue
        if len(target) > 2 and target[2] in PUBLIC_MODULES:
            continue
        if (edge.source, edge.target) not in KNOWN_CROSSINGS:
            violations.append(
                f"{edge.where}: {edge.source} imports {edge.target}, another record type's "
                "internals (read it through its queries)"
            )
    return violations


def test_the_allowed_arrows_form_no_cycle() -> None:
    graphlib.TopologicalSorter(ALLOWED).static_order()  # raises CycleError


def test_every_package_has_its_place_in_the_architecture() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - OUTSIDE
    assert packages == set(ALLOWED)


def test_imports_point_one_way() -> None:
    violations = layering_violations(imports_of(ROOT, set(ALLOWED)))
    assert not violations, "imports against the architecture:\n" + "\n".join(violations)


def test_a_record_type_reads_another_only_through_its_queries_rules_and_actions() -> None:
    violations = record_type_crossings(imports_of(ROOT, {"procedures"}))
    assert not violations, "\n".join(violations)


def test_every_named_crossing_is_still_made() -> None:
    """A crossing that is gone leaves the list, so that it cannot return unnoticed."""
    found = {(edge.source, edge.target) for edge in imports_of(ROOT, {"procedures"})}
    assert not KNOWN_CROSSINGS - found, f"no longer made: {sorted(KNOWN_CROSSINGS - found)}"


def test_no_import_closes_a_cycle() -> None:
    found = cycles(imports_of(ROOT, set(ALLOWED)))
    assert not found, "import cycles:\n" + "\n".join(found)


def test_the_checks_see_deferred_and_relative_imports(tmp_path: Path) -> None:
    """The checks themselves: imports in functions and under TYPE_CHECKING count, relative
    imports resolve to the module they name."""
    package = tmp_path / "procedures"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from .sub import b\n")
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import a\n"
        "import bot.app\n"
    )
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "__init__.py").write_text("")
    (tmp_path / "bot" / "app.py").write_text("")

    found = imports_of(tmp_path, {"procedures", "bot"})

    assert {(e.source, e.target, e.where) for e in found} == {
        ("procedures.a", "procedures.sub.b", "procedures/a.py:2"),
        ("procedures.sub.b", "procedures.a", "procedures/sub/b.py:3"),
        ("procedures.sub.b", "bot.app", "procedures/sub/b.py:4"),
    }
    assert layering_violations(found) == [
        "procedures/sub/b.py:4: procedures.sub.b imports bot.app; procedures may import storage"
    ]
    assert cycles(found) == [
        "procedures.a (procedures/a.py:2) -> procedures.sub.b (procedures/sub/b.py:3)"
        " -> procedures.a"
    ]


def test_the_configuration_imports_nothing_from_procedures() -> None:
    """core.config is the deployment's settings; the record types' policies live beside their
    rules and the wiring (core.services) loads them."""
    found = [
        edge.where
        for edge in imports_of(ROOT, {"core", "procedures"})
        if edge.source == "core.config" and edge.target.split(".")[0] == "procedures"
    ]
    assert not found, found


# The chat reads through the record types' `queries` and changes records through their use
# cases: no module of bot/ imports storage. Exempt are the delivery runtime (the update's
# transaction, the conversations' persistence, the outbox sender) and the entry point, which
# wire the engine and the tables they run on.
CHAT_RUNTIME = "bot.runtime"
# Known exceptions, still to move their reads into the queries. Each leaves this list once it no
# longer imports storage (a test below fails while a module is listed for nothing); the list is
# to be empty.
KNOWN_CHAT_STORAGE_READERS: set[str] = set()


def _is_chat(module: str) -> bool:
    if module in ENTRY_POINTS or module == CHAT_RUNTIME or module.startswith(f"{CHAT_RUNTIME}."):
        return False
    return module == "bot" or module.startswith("bot.")


def chat_storage_imports(found: list[Import]) -> list[Import]:
    """The imports of storage by modules of the chat (bot/ but its runtime and entry point)."""
    return [
        edge for edge in found if _is_chat(edge.source) and edge.target.split(".")[0] == "storage"
    ]


def test_the_chat_reads_through_the_queries_not_storage() -> None:
    violations = [
        f"{edge.where}: {edge.source} imports {edge.target}; the chat reads through a record "
        "type's queries (procedures.<type>.queries), never storage"
        for edge in chat_storage_imports(imports_of(ROOT, set(ALLOWED)))
        if edge.source not in KNOWN_CHAT_STORAGE_READERS
    ]
    assert not violations, "\n".join(violations)


def test_the_known_storage_readers_of_the_chat_still_read_storage() -> None:
    readers = {edge.source for edge in chat_storage_imports(imports_of(ROOT, set(ALLOWED)))}
    stale = sorted(KNOWN_CHAT_STORAGE_READERS - readers)
    assert not stale, f"no longer import storage, remove from KNOWN_CHAT_STORAGE_READERS: {stale}"


def test_the_chat_rule_exempts_only_the_runtime_and_the_entry_point(tmp_path: Path) -> None:
    for module in ("bot/__main__", "bot/runtime/sender", "bot/handlers/work", "bot/context"):
        path = tmp_path / f"{module}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("from storage.models import User\n")
    for package in ("bot", "bot/runtime", "bot/handlers", "storage"):
        (tmp_path / package).mkdir(exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "storage" / "models.py").write_text("")

    found = chat_storage_imports(imports_of(tmp_path, {"bot", "storage"}))

    assert {(e.source, e.target) for e in found} == {
        ("bot.handlers.work", "storage.models"),
        ("bot.context", "storage.models"),
    }


# Reports format what the record types' queries read; they never reach storage (models or
# engine) themselves. The modules that cannot avoid it, each with why:
REPORTS_READING_STORAGE = {
    # the inspector's export walks every table of the schema (Base.metadata) generically, with
    # each record's children, timeline, deadlines and files, and streams the evidence files out
    # of the file store: it is a copy of the storage, not a report over a record type
    "reports.export",
}


def test_reports_read_through_the_queries_never_storage() -> None:
    found = [
        edge
        for edge in imports_of(ROOT, {"reports", "storage"})
        if edge.source.split(".")[0] == "reports" and edge.target.split(".")[0] == "storage"
    ]
    violations = [
        f"{edge.where}: {edge.source} imports {edge.target} (read it through the record "
        "type's queries)"
        for edge in found
        if edge.source not in REPORTS_READING_STORAGE
    ]
    assert not violations, "\n".join(violations)
    # an allowance no longer needed goes
    assert {edge.source for edge in found} == REPORTS_READING_STORAGE


# The Mini App reads as the chat does: through the procedures' queries and the overview, never
# the storage's models. Its storage imports are these, each with why:
WEBAPP_READING_STORAGE = {
    # the evidence files' bytes come out of the file store the bot keeps them in
    ("webapp.app", "storage.files"),
}


def test_the_mini_app_reads_through_the_procedures_never_the_models() -> None:
    found = [
        edge
        for edge in imports_of(ROOT, {"webapp", "storage"})
        if edge.source.split(".")[0] == "webapp"
        and edge.source not in ENTRY_POINTS
        and edge.target.split(".")[0] == "storage"
    ]
    violations = [
        f"{edge.where}: {edge.source} imports {edge.target} (read it through the procedures' "
        "queries or procedures.overview)"
        for edge in found
        if (edge.source, edge.target) not in WEBAPP_READING_STORAGE
    ]
    assert not violations, "\n".join(violations)
    # an allowance no longer needed goes
    assert {(edge.source, edge.target) for edge in found} == WEBAPP_READING_STORAGE


# A record type's module that grows past this is two modules: a reader finds a rule in a file
# read in one sitting.
MAX_PROCEDURE_MODULE_LINES = 600


def test_no_module_of_the_procedures_passes_600_lines() -> None:
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "procedures").rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines()))
        > MAX_PROCEDURE_MODULE_LINES
    }
    assert not too_long, too_long
