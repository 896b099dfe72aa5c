"""Every task name the code defers is a registered task: a rename or a move that forgets one
would queue jobs no worker can run."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import leadflood
from leadflood import jobs

DEFERRING = {"defer": 1, "defer_many": 1, "configure_task": 0}


def _modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(leadflood.__path__, "leadflood."):
        if ".migrations" in info.name or info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


def _referenced(module_name: str) -> set[str]:
    module = importlib.import_module(module_name)
    source = Path(module.__file__ or "").read_text()
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name not in DEFERRING or len(node.args) <= DEFERRING[name]:
            continue
        arg = node.args[DEFERRING[name]]
        if isinstance(arg, ast.Subscript):
            table = eval(ast.unparse(arg.value), vars(module))  # a module-level dict of names
            found.update(table.values())
            continue
        try:
            value = eval(ast.unparse(arg), vars(module))
        except NameError:
            continue  # a parameter (jobs.defer's own `task_name`)
        if isinstance(value, str):
            found.add(value)
    return found


def test_every_task_name_the_code_defers_is_registered() -> None:
    jobs.app.perform_import_paths()
    referenced: dict[str, str] = {}
    for name in _modules():
        for task in _referenced(name):
            referenced.setdefault(task, name)
    assert len(referenced) >= 10, referenced  # the scan really found the deferrals
    missing = {task: where for task, where in referenced.items() if task not in jobs.app.tasks}
    assert not missing, f"deferred but never registered: {missing}"
