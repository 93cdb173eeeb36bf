"""What each job kind runs: ``"module:function"`` called as ``function(job, **args)`` with a
JobProgress ``job``; it returns a JSON-safe dict kept as the job's result (or None). Named here as
strings so that a worker process finds every kind without importing the web views first."""
from importlib import import_module

from flask_babel import lazy_gettext as _l

KINDS = {
    "score_run": "app.assessment.jobs:score_run",
    "design": "app.feedback.jobs:generate_design",
    "objection_correction": "app.results.jobs:objection_correction",
    "import_roster": "app.admin.jobs:import_roster",
    "import_values": "app.assessment.jobs:import_values",
    "import_incidents": "app.monitoring.jobs:import_incidents",
    "import_cases": "app.monitoring.jobs:import_case_records",
    "reliability": "app.reports.jobs:compute_reliability",
    "notify_send": "app.notify.delivery:send_job",
    "resident_sms": "app.residents.sms:send_job",
    "reminders": "app.notify.reminders:reminders_job",
}

LABELS = {
    "score_run": _l("计算考评结果"),
    "design": _l("生成360评价设计"),
    "objection_correction": _l("采纳申诉并重新计算"),
    "import_roster": _l("导入名册"),
    "import_values": _l("导入指标数据"),
    "import_incidents": _l("导入警情记录"),
    "import_cases": _l("导入案件记录"),
    "reliability": _l("计算360评价信度"),
    "notify_send": _l("发送短信和邮件通知"),
    "resident_sms": _l("发送群众评价短信"),
    "reminders": _l("发送提醒"),
}


def resolve(kind: str):
    """The function that does ``kind``'s work (KeyError for an unknown kind)."""
    module, name = KINDS[kind].split(":")
    return getattr(import_module(module), name)


def done_message(job) -> str:
    """The success message of a finished job, in the reader's language (the kind's ``<name>_done``)."""
    module, name = KINDS[job.kind].split(":")
    describe = getattr(import_module(module), f"{name}_done", None)
    return describe(job.result or {}) if describe else ""
