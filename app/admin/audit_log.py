"""The audit log as a clerk and an inspector (督察) read it: labelled actions and objects, what
changed field by field in plain words, filters by person, kind of object and date, and an xlsx export."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from .. import scope
from ..extensions import db
from ..localtime import bureau_zone, format_local
from ..models import AuditLog, Officer, User
from ..templating import ACTION_LABELS, CYCLE_STATUS_LABELS

EXPORT_LIMIT = 50_000  # rows in one export; an inspection narrows by date or person first
TEXT_LIMIT = 300  # characters of one value shown on the page (the export keeps them whole)

# Kinds of object, as the filter offers them.
ENTITY_LABELS = {
    "cycle": _l("考评周期"), "unit": _l("单位"), "officer": _l("民警"), "user": _l("账号"),
    "indicator": _l("考评指标"), "claim": _l("协作申报"), "case_record": _l("案件记录"),
    "api_client": _l("数据接口令牌"), "feedback_instrument": _l("360问卷"),
    "feedback_assignment": _l("360评价安排"), "feedback_nomination": _l("跨单位评价提名"),
    "resident_invitation": _l("群众评价邀请"), "resident_follow_up": _l("回访核查"),
    "service_type": _l("评价业务类型"), "resident_flag_keyword": _l("评价关键词"),
}

# Actions the features do not label themselves.
MORE_ACTION_LABELS = {
    "score_run_computed": _l("计算考评结果"), "score_run_published": _l("发布考评结果"),
    "points_rules_saved": _l("保存团队贡献积分规则"), "assessment_settings_saved": _l("保存考评设置"),
    "indicators_seeded": _l("载入默认指标"), "indicator_saved": _l("保存考评指标"),
    "indicator_values_imported": _l("导入指标数据"), "case_records_imported": _l("导入案件记录"),
    "api_client_created": _l("创建数据接口令牌"), "api_client_revoked": _l("吊销数据接口令牌"),
    "claim_shares_adjusted": _l("调整协作申报份额"), "cycle_draft": _l("周期退回草稿"),
}

# Fields as people call them; a field not listed shows its code.
FIELD_LABELS = {
    "status": _l("状态"), "name": _l("名称"), "code": _l("代码"), "kind": _l("类型"), "category": _l("类别"),
    "parent_id": _l("上级单位"), "is_active": _l("启用"), "badge_no": _l("警号"), "unit_id": _l("单位"),
    "position": _l("职务"), "is_leader": _l("领导"), "username": _l("用户名"), "roles": _l("角色"),
    "officer_id": _l("民警"), "starts_on": _l("开始日期"), "ends_on": _l("结束日期"),
    "deadline_on": _l("评价截止日期"), "run": _l("结果版本编号"), "version": _l("版本"),
    "inputs_hash": _l("输入摘要"), "weight": _l("权重"), "target": _l("目标值"), "method": _l("计分方法"),
    "dimension": _l("维度"), "direction": _l("方向"), "level": _l("层级"), "check_note": _l("核查情况"),
    "fix_note": _l("整改情况"), "word": _l("关键词"), "created": _l("新增"), "updated": _l("更新"),
    "codes": _l("代码"), "points_rules": _l("积分规则"), "assignments": _l("评价安排数"),
    "min_value": _l("最小值"), "max_value": _l("最大值"), "description": _l("说明"), "source": _l("来源"),
}


def action_label(code: str) -> str:
    """The action as people read it; claim steps take the claims' own words."""
    if code in ACTION_LABELS:
        return str(ACTION_LABELS[code])
    if code in MORE_ACTION_LABELS:
        return str(MORE_ACTION_LABELS[code])
    if code.startswith("claim_"):
        from ..claims.services import ACTION_LABELS as CLAIM_ACTIONS

        step = CLAIM_ACTIONS.get(code[len("claim_"):])
        if step is not None:
            return _("协作申报：%(step)s", step=step)
    return code


def _status_label(value) -> str:
    from ..claims.services import STATUS_LABELS as CLAIM_STATUS

    for labels in (CYCLE_STATUS_LABELS, CLAIM_STATUS):
        if value in labels:
            return str(labels[value])
    return str(value)


def readable(value, key: str = "") -> str:
    """A stored value in plain words: no JSON, no escapes; nested values as "key: value" lists."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if key == "status" and isinstance(value, str):
        return _status_label(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return "；".join(f"{FIELD_LABELS.get(k, k)}：{readable(v, k)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "、".join(readable(v) for v in value) or "—"
    return str(value)


@dataclass(frozen=True)
class Change:
    field: str  # the field's label
    before: str
    after: str


def changes(row: AuditLog) -> list[Change]:
    """What ``row`` changed, field by field (unchanged fields left out)."""
    before = row.before if isinstance(row.before, dict) else ({} if row.before is None else {"": row.before})
    after = row.after if isinstance(row.after, dict) else ({} if row.after is None else {"": row.after})
    out = []
    for key in list(dict.fromkeys([*before, *after])):
        old, new = before.get(key), after.get(key)
        if key in before and key in after and old == new:
            continue
        out.append(Change(str(FIELD_LABELS.get(key, key)) if key else _("内容"),
                          readable(old, key) if key in before else "", readable(new, key) if key in after else ""))
    return out


def object_label(row: AuditLog) -> str:
    kind = ENTITY_LABELS.get(row.entity, row.entity)
    return str(kind) if row.entity_id in ("", "*") else f"{kind} #{row.entity_id}"


@dataclass(frozen=True)
class AuditFilter:
    who: str = ""  # part of a username or an officer's name
    kind: str = ""  # an entity code (ENTITY_LABELS)
    since: date | None = None  # bureau-local days, inclusive
    until: date | None = None


def _utc(day: date) -> datetime:
    """Midnight starting ``day`` in the bureau's zone, as naive UTC (how times are stored)."""
    return datetime.combine(day, time.min, tzinfo=bureau_zone()).astimezone(UTC).replace(tzinfo=None)


def audit_query(chosen: AuditFilter):
    """The filtered log, newest first, with each row's user and officer loaded in the same round."""
    query = (select(AuditLog).options(selectinload(AuditLog.user).selectinload(User.officer))
             .order_by(AuditLog.id.desc()))
    if chosen.kind:
        query = query.where(AuditLog.entity == chosen.kind)
    if chosen.since:
        query = query.where(AuditLog.created_at >= _utc(chosen.since))
    if chosen.until:
        query = query.where(AuditLog.created_at < _utc(chosen.until + timedelta(days=1)))
    if chosen.who:
        pattern = "%" + chosen.who.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        people = (select(User.id).outerjoin(Officer, User.officer_id == Officer.id)
                  .where(or_(User.username.ilike(pattern, escape="\\"), Officer.name.ilike(pattern, escape="\\"))))
        query = query.where(AuditLog.user_id.in_(people))
    if not scope.sees_all():  # a bureau's admin reads what their bureau's accounts did
        from .services import user_clause

        query = query.where(AuditLog.user_id.in_(select(User.id).outerjoin(User.officer).where(user_clause())))
    return query


def export_rows(chosen: AuditFilter) -> tuple[list[str], list[list], bool]:
    """(header, rows, truncated) for the xlsx export: one line per changed field inside a cell."""
    header = [_("时间"), _("操作人"), _("操作"), _("对象"), _("变更内容"), _("备注")]
    rows: list[list] = []
    result = db.session.execute(audit_query(chosen).limit(EXPORT_LIMIT + 1)).scalars()
    for n, row in enumerate(result):
        if n == EXPORT_LIMIT:
            return header, rows, True
        lines = [f"{c.field}：{c.before} → {c.after}" if c.before and c.after else f"{c.field}：{c.after or c.before}"
                 for c in changes(row)]
        rows.append([format_local(row.created_at, "yyyy-MM-dd HH:mm:ss"),
                     row.user.display_name if row.user else _("系统"), action_label(row.action),
                     object_label(row), "\n".join(lines), row.note or ""])
    return header, rows, False
