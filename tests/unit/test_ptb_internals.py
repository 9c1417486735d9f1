"""python-telegram-bot's private names: used in one module only, and still there after an upgrade.

`bot.runtime.ptb_internals` lists every private name it uses (`PRIVATE_NAMES`); each must exist
in the installed python-telegram-bot, and a failure names the one that is gone. Every other
module of ours, tests and benchmarks included, neither imports a private module of the library
nor touches a private name of its classes: a scan of the source, like the architecture test.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
import telegram

from bot.runtime import ptb_internals

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("bot", "core", "scheduler", "reports", "procedures", "storage", "emulator")
SCANNED += ("bench", "tests")
INTERNALS = Path(ptb_internals.__file__).resolve()
LIBRARY = "telegram"
# what a class body, a method or a monkeypatch names an attribute through
ATTRIBUTE_CALLS = {"getattr", "setattr", "hasattr", "delattr"}


def is_private(name: str) -> bool:
    """`_name`: private by convention (a `__name` is mangled, `_` is no name)."""
    return len(name) > 1 and name.startswith("_") and not name.startswith("__")


def is_private_module(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == LIBRARY and any(part.startswith("_") for part in parts[1:])


# --- the names ptb_internals uses are still there ---------------------------------------------


def instance_attributes(cls: type) -> set[str]:
    """What an instance of `cls` carries beside its class's attributes: the __slots__ of its
    classes and what their __init__ sets on self."""
    found: set[str] = set()
    for klass in cls.__mro__:
        slots = vars(klass).get("__slots__", ())
        found.update([slots] if isinstance(slots, str) else slots)
        init = vars(klass).get("__init__")
        if init is None:
            continue
        try:
            source = textwrap.dedent(inspect.getsource(init))
        except (OSError, TypeError):  # written in C
            continue
        for node in ast.walk(ast.parse(source)):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
            ):
                found.add(node.attr)
    return found


def has_name(module: str, path: str) -> bool:
    """Whether `module` has `path` (a dotted attribute path; its last part may be an instance
    attribute of the class before it)."""
    try:
        owner: object = importlib.import_module(module)
    except ImportError:
        return False
    parts = path.split(".")
    for depth, part in enumerate(parts):
        if hasattr(owner, part):
            owner = getattr(owner, part)
        elif depth == len(parts) - 1 and isinstance(owner, type):
            return part in instance_attributes(owner)
        else:
            return False
    return True


@pytest.mark.parametrize(
    ("module", "path"),
    ptb_internals.PRIVATE_NAMES,
    ids=[f"{module}.{path}" for module, path in ptb_internals.PRIVATE_NAMES],
)
def test_every_private_name_used_is_still_in_python_telegram_bot(module: str, path: str) -> None:
    assert has_name(module, path), (
        f"python-telegram-bot {telegram.__version__} has no {module}.{path}, which "
        "bot/runtime/ptb_internals.py uses: find its new name (or a public way) and change the "
        "function that uses it, and PRIVATE_NAMES"
    )


def test_every_private_name_ptb_internals_uses_is_listed() -> None:
    """The list is what the test above checks: a private name used but not listed would go
    unchecked."""
    tree = ast.parse(INTERNALS.read_text(encoding="utf-8"))
    listed = set(ptb_internals.PRIVATE_NAMES)
    last_parts = {path.rpartition(".")[2] for _, path in listed}
    unlisted = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and is_private_module(node.module):
            unlisted += [
                f"{node.module}.{alias.name}"
                for alias in node.names
                if (node.module, alias.name) not in listed
            ]
        elif isinstance(node, ast.Attribute) and is_private(node.attr):
            if node.attr not in last_parts:
                unlisted.append(f"line {node.lineno}: .{node.attr}")
    assert not unlisted, "private names used but not in PRIVATE_NAMES: " + ", ".join(
        sorted(unlisted)
    )


def test_the_existence_check_finds_instance_attributes_and_misses_what_is_gone() -> None:
    assert has_name("telegram.ext", "Application._user_ids_to_be_updated_in_persistence")
    assert has_name("telegram.ext._utils.trackingdict", "TrackingDict.data")  # UserDict's __init__
    assert not has_name("telegram.ext", "Application._no_such_name")
    assert not has_name("telegram.ext", "NoSuchClass._x")
    assert not has_name("telegram.ext._no_such_module", "Anything")


# --- nobody else touches them -------------------------------------------------------------------


def assigned_names(body: list[ast.stmt]) -> set[str]:
    """The names a module or class body assigns, with the entries of its __slots__."""
    names: set[str] = set()
    for statement in body:
        targets = list(statement.targets) if isinstance(statement, ast.Assign) else []
        targets += [statement.target] if isinstance(statement, ast.AnnAssign) else []
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            names.add(target.id)
            if target.id == "__slots__" and statement.value is not None:
                names.update(
                    entry.value
                    for entry in ast.walk(statement.value)
                    if isinstance(entry, ast.Constant) and isinstance(entry.value, str)
                )
    return names


@cache
def library_private_names() -> frozenset[str]:
    """Every private name python-telegram-bot defines: its private modules, functions, classes,
    methods, module and class attributes, slots and attributes set on an object."""
    root = Path(telegram.__file__).parent
    names: set[str] = set()
    for path in root.rglob("*.py"):
        names.update(path.relative_to(root).with_suffix("").parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= assigned_names(tree.body)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
            elif isinstance(node, ast.ClassDef):
                names.add(node.name)
                names |= assigned_names(node.body)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return frozenset(name for name in names if is_private(name))


def private_names_of(cls: type) -> set[str]:
    """The private names python-telegram-bot's classes among `cls`'s bases define."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] != LIBRARY:
            continue
        names.update(vars(klass))
        names.update(instance_attributes(klass))
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return {name for name in names if is_private(name)}


@dataclass
class Scope:
    """What the names of one module stand for, as far as its imports tell."""

    module: str
    is_package: bool
    imported: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)

    def absolute(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        anchor = self.module.split(".")
        if not self.is_package:
            anchor.pop()
        base = ".".join(anchor[: len(anchor) - (node.level - 1)])
        return f"{base}.{node.module}" if node.module else base

    def resolve(self, expression: ast.expr) -> object:
        """The object a base class expression names, or None when it cannot be told."""
        if isinstance(expression, ast.Subscript):
            return self.resolve(expression.value)
        if isinstance(expression, ast.Attribute):
            owner = self.resolve(expression.value)
            return getattr(owner, expression.attr, None) if owner is not None else None
        if not isinstance(expression, ast.Name) or expression.id not in self.imported:
            return None
        module, name = self.imported[expression.id]
        try:
            found: ModuleType = importlib.import_module(module)
        except ImportError:
            return None
        return found if name is None else getattr(found, name, None)

    def library_names_of(self, node: ast.ClassDef, seen: frozenset[str] = frozenset()) -> set[str]:
        """The private names of python-telegram-bot the class inherits."""
        names: set[str] = set()
        for base in node.bases:
            if isinstance(base, ast.Name) and base.id in self.classes and base.id not in seen:
                names |= self.library_names_of(self.classes[base.id], seen | {node.name})
                continue
            found = self.resolve(base)
            if isinstance(found, type):
                names |= private_names_of(found)
        return names


def scope_of(tree: ast.Module, module: str, is_package: bool) -> Scope:
    scope = Scope(module, is_package)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    scope.imported[alias.asname] = (alias.name, None)
                else:
                    top = alias.name.split(".")[0]
                    scope.imported[top] = (top, None)
        elif isinstance(node, ast.ImportFrom):
            source = scope.absolute(node)
            for alias in node.names:
                scope.imported[alias.asname or alias.name] = (source, alias.name)
        elif isinstance(node, ast.ClassDef):
            scope.classes.setdefault(node.name, node)
    return scope


def uses_in_class(node: ast.ClassDef, private: set[str]) -> list[tuple[int, str]]:
    """The library's private names a subclass defines (overrides) or reaches through self,
    cls or super()."""
    found = []
    for child in node.body:
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) and child.name in private:
            found.append((child.lineno, f"overrides {child.name}"))
        found += [
            (child.lineno, f"overrides {name}")
            for name in sorted(assigned_names([child]) & private)
        ]
    for inner in ast.walk(node):
        if not isinstance(inner, ast.Attribute) or inner.attr not in private:
            continue
        owner = inner.value
        is_self = isinstance(owner, ast.Name) and owner.id in ("self", "cls")
        is_super = (
            isinstance(owner, ast.Call)
            and isinstance(owner.func, ast.Name)
            and owner.func.id == "super"
        )
        if is_self or is_super:
            found.append((inner.lineno, f"uses {ast.unparse(inner)}"))
    return found


def uses_anywhere(tree: ast.Module, private: frozenset[str]) -> list[tuple[int, str]]:
    """Private modules imported; private names of the library reached on any other object,
    by attribute or by name (getattr, setattr, monkeypatch.setattr, an import path)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                (node.lineno, f"imports {alias.name}")
                for alias in node.names
                if is_private_module(alias.name)
            ]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module.split(".")[0] != LIBRARY:
                continue
            found += [
                (node.lineno, f"imports {node.module}.{alias.name}")
                for alias in node.names
                if is_private_module(node.module) or is_private(alias.name)
            ]
        elif isinstance(node, ast.Attribute) and node.attr in private:
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue  # a class of ours: checked with its bases (uses_in_class)
            if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name):
                if owner.func.id == "super":
                    continue
            found.append((node.lineno, f"uses {ast.unparse(node)}"))
        elif isinstance(node, ast.Call):
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else None
            name = function.id if isinstance(function, ast.Name) else name
            for argument in node.args:
                if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
                    continue
                text = argument.value
                if is_private_module(text) or (name in ATTRIBUTE_CALLS and text in private):
                    found.append((node.lineno, f"names {text!r}"))
    return found


def private_uses(root: Path, folders: tuple[str, ...], skip: set[Path]) -> list[str]:
    """Every use of a private name of python-telegram-bot in these folders, as file:line."""
    private = library_private_names()
    violations = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            if path.resolve() in skip:
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            module = ".".join(parts[:-1] if is_package else parts)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            scope = scope_of(tree, module, is_package)
            found = uses_anywhere(tree, private)
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    inherited = scope.library_names_of(node)
                    if inherited:
                        found += [
                            (line, f"{node.name} {what}")
                            for line, what in uses_in_class(node, inherited)
                        ]
            where = path.relative_to(root)
            violations += [f"{where}:{line}: {what}" for line, what in sorted(set(found))]
    return violations


def test_no_module_but_ptb_internals_uses_a_private_name_of_python_telegram_bot() -> None:
    # this test names them to check them, as ptb_internals does to use them
    violations = private_uses(ROOT, SCANNED, {INTERNALS, Path(__file__).resolve()})
    assert not violations, (
        "private names of python-telegram-bot outside bot/runtime/ptb_internals.py (add a "
        "function there, with why it needs the name):\n" + "\n".join(violations)
    )


def test_the_scan_sees_each_way_of_reaching_a_private_name(tmp_path: Path) -> None:
    """The scan itself: private imports, attributes on any object, overrides and self or
    super() in a subclass (also through a class of the same module), names as strings."""
    package = tmp_path / "bot"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "wiring.py").write_text(
        "import importlib\n"
        "from telegram.ext import Application, ExtBot\n"
        "from telegram.ext._utils.trackingdict import TrackingDict\n"
        "class Ours(Application):\n"
        "    async def _tell(self):\n"  # ours: not the library's
        "        return self._conversation_handler_conversations\n"
        "class Bot(ExtBot[None]):\n"
        "    async def _post(self, *args):\n"
        "        return await super()._post(*args)\n"
        "class Deeper(Ours):\n"
        "    __slots__ = ('_user_data',)\n"
        "class Unrelated:\n"
        "    def _post(self):\n"  # no python-telegram-bot base: its own name
        "        return self._user_data\n"
        "def f(application, monkeypatch):\n"
        "    application._chat_ids_to_be_updated_in_persistence.clear()\n"
        "    monkeypatch.setattr(ExtBot, '_post', None)\n"
        "    importlib.import_module('telegram._utils.types')\n"
    )

    assert private_uses(tmp_path, ("bot",), set()) == [
        "bot/wiring.py:3: imports telegram.ext._utils.trackingdict.TrackingDict",
        "bot/wiring.py:6: Ours uses self._conversation_handler_conversations",
        "bot/wiring.py:8: Bot overrides _post",
        "bot/wiring.py:9: Bot uses super()._post",
        "bot/wiring.py:11: Deeper overrides _user_data",
        "bot/wiring.py:16: uses application._chat_ids_to_be_updated_in_persistence",
        "bot/wiring.py:17: names '_post'",
        "bot/wiring.py:18: names 'telegram._utils.types'",
    ]
