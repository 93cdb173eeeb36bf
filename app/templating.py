"""Template globals: the navigation by role, languages, display helpers."""
from flask import current_app, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .localtime import format_local

UNIT_KIND_LABELS = {
    "bureau": _l("公安局"), "station": _l("派出所"), "police_type": _l("警种部门"), "squad": _l("中队/警务队"),
}
CATEGORY_LABELS = {1: _l("一类"), 2: _l("二类"), 3: _l("三类")}
ROLE_LABELS = {
    "admin": _l("考评办管理员"), "coordinator": _l("协作协调员"), "supervisor": _l("所队领导"), "officer": _l("民警"),
    "province": _l("省厅（只读）"),
}
CYCLE_KIND_LABELS = {"month": _l("月自查"), "quarter": _l("季考评"), "year": _l("年总结")}
CYCLE_STATUS_LABELS = {
    "draft": _l("草稿"), "open": _l("进行中"), "closed": _l("已关闭"), "published": _l("已发布"),
}

# Audit actions as people read them; features add theirs. Unknown actions show their code.
ACTION_LABELS = {
    "unit_saved": _l("保存单位"), "officer_saved": _l("保存民警信息"), "officer_activated": _l("启用民警"),
    "officer_deactivated": _l("停用民警"), "user_saved": _l("保存账号"), "user_activated": _l("启用账号"),
    "user_deactivated": _l("停用账号"), "password_changed": _l("修改密码"), "password_reset": _l("重置密码"),
    "cycle_saved": _l("保存周期"), "cycle_open": _l("开启周期"), "cycle_closed": _l("关闭周期"),
    "cycle_published": _l("发布结果"), "roster_imported": _l("导入名册"),
}

# (endpoint, label, roles that see it); features add their entries where they register.
NAV_ITEMS: list[tuple[str, object, tuple[str, ...]]] = [
    ("main.index", _l("首页"), ()),
    ("admin.index", _l("系统管理"), ("admin",)),
]


# Cards that features add to the admin start page: (endpoint, label, hint).
ADMIN_LINKS: list[tuple[str, object, object]] = []


def add_once(registry: list, entry) -> None:
    """Append ``entry`` to one of the plain-list registries (these, HOME_PANELS, CYCLE_SECTIONS,
    BEFORE_TRANSITION, demo STEPS) unless it is there: a feature's register() runs per app."""
    if entry not in registry:
        registry.append(entry)


def nav_items():
    if not current_user.is_authenticated:
        return []
    return [
        (endpoint, label) for endpoint, label, roles in NAV_ITEMS
        if not roles or current_user.has_role(*roles) or (current_user.has_role("province")
                                                          and {"admin", "coordinator"}.intersection(roles))
    ]


_PERIODS = {"second": _l("秒"), "minute": _l("分钟"), "hour": _l("小时"), "day": _l("天"), "month": _l("月"),
            "year": _l("年")}


def readable_rate_limit(text: str) -> str:
    """A limiter string ("10 per hour;30 per day") in the reader's words ("每 1 小时最多 10 次；…")."""
    from flask_babel import gettext
    from limits import parse_many

    try:
        items = parse_many(text)
    except ValueError:
        return text
    parts = []
    for item in items:
        period = _PERIODS.get(item.GRANULARITY.name, item.GRANULARITY.name)
        parts.append(gettext("每%(period)s最多 %(n)d 次", period=period, n=item.amount) if item.multiples == 1 else
                     gettext("每 %(m)d %(period)s最多 %(n)d 次", m=item.multiples, period=period, n=item.amount))
    return gettext("；").join(parts)


# One number format per kind of figure, used by every page that shows scores: totals, dimension scores
# and contributions with two decimals, rates in % with one, counts as whole numbers; a missing figure is "—".
MISSING = "—"


def format_score(value, signed: bool = False) -> str:
    """A score (total, dimension, contribution, points): two decimals, e.g. 87.50 or +1.25."""
    if value is None:
        return MISSING
    return f"{float(value):+.2f}" if signed else f"{float(value):.2f}"


def format_percent(value, sign: bool = True) -> str:
    """A rate already in per cent: one decimal and the % sign, e.g. 92.3% (without it where a text says "%")."""
    if value is None:
        return MISSING
    return f"{float(value):.1f}%" if sign else f"{float(value):.1f}"


def format_count(value) -> str:
    """A count: a whole number."""
    if value is None:
        return MISSING
    return f"{int(round(float(value))):d}"


def register(app) -> None:
    # The one way a template shows a stored (UTC) time: in the bureau's zone.
    app.jinja_env.filters["datetime"] = format_local
    app.jinja_env.filters["rate_limit"] = readable_rate_limit
    app.jinja_env.filters["score"] = format_score
    app.jinja_env.filters["percent"] = format_percent
    app.jinja_env.filters["count"] = format_count
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def inject():
        return {
            "nav_items": nav_items,
            "extra_admin_links": lambda: ADMIN_LINKS,
            "languages": current_app.config["LANGUAGES"],
            "current_locale": str(get_locale()),
            "UNIT_KIND_LABELS": UNIT_KIND_LABELS,
            "CATEGORY_LABELS": CATEGORY_LABELS,
            "ROLE_LABELS": ROLE_LABELS,
            "CYCLE_KIND_LABELS": CYCLE_KIND_LABELS,
            "CYCLE_STATUS_LABELS": CYCLE_STATUS_LABELS,
            "ACTION_LABELS": ACTION_LABELS,
            "request_path": request.full_path.rstrip("?") if request else "/",
        }
