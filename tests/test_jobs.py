"""Every task name the code defers is a registered task: a rename or a move that forgets one
would queue jobs no worker can run."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from procrastinate.jobs import Job
from procrastinate.retry import RetryDecision
from sqlalchemy.exc import DBAPIError

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


def _job(attempts: int) -> Job:
    return Job(queue="default", lock=None, queueing_lock=None, task_name="t", attempts=attempts)


def _wait(decision: RetryDecision | None) -> float:
    assert decision is not None and decision.retry_at is not None
    return (decision.retry_at - datetime.now(UTC)).total_seconds()


def test_a_job_cut_short_by_a_database_outage_is_retried_whatever_its_strategy() -> None:
    lost = psycopg.OperationalError("consuming input failed: server closed the connection")
    wrapped = DBAPIError("SELECT 1", None, lost, connection_invalidated=True)
    strategy = jobs.RetryOutages(jobs.backoff(attempts=3, retry_on=(OSError,)))
    assert 0 < _wait(strategy.get_retry_decision(exception=lost, job=_job(0))) <= 1
    assert 3 < _wait(strategy.get_retry_decision(exception=wrapped, job=_job(2))) <= 4
    assert 59 < _wait(strategy.get_retry_decision(exception=lost, job=_job(12))) <= 60
    assert strategy.get_retry_decision(exception=lost, job=_job(19)) is None  # 20 runs in all
    # Other errors follow the task's own strategy.
    assert strategy.get_retry_decision(exception=OSError("dns"), job=_job(0)) is not None
    assert strategy.get_retry_decision(exception=ValueError("bad"), job=_job(0)) is None
    assert jobs.RetryOutages().get_retry_decision(exception=OSError(), job=_job(0)) is None


def test_every_task_retries_database_outages() -> None:
    from leadflood.leads import service as leads
    from leadflood.sending.service import DELIVER

    jobs.app.perform_import_paths()
    for name in (leads.ENRICH_TASK, DELIVER):
        assert isinstance(jobs.app.tasks[name].retry_strategy, jobs.RetryOutages), name
