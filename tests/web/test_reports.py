"""Reports: real figures from the demo, charts with their tables, who sees what, exports equal to the
pages, the print stylesheet, the anonymity gates on the individual report, stored reliability."""
import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from app.extensions import db
from app.models import Cycle, Officer, ReliabilityReport, Unit, User

from ..factories import make_cycle, make_user
from .feedback_helpers import build_world
from .test_feedback_results import answer, close, peers_of


def _login(client, username, password="demo1234"):
    client.post("/logout")
    assert client.post("/login", data={"username": username, "password": password}).status_code == 302


def _ids(app, username):
    with app.app_context():
        user = db.session.execute(sa.select(User).filter_by(username=username)).scalar_one()
        return user.officer.id, user.officer.unit_id


def _charts_have_tables(page: str, at_least: int = 1):
    """Every chart is an <svg> inside a figure with a table of its numbers; no chart script."""
    figures = re.findall(r'<figure class="row g-3 align-items-center chart">(.*?)</figure>', page, re.S)
    assert len(figures) >= at_least
    for figure in figures:
        assert "<svg" in figure and "<table" in figure and "<td" in figure
    assert "<script" not in "".join(figures)


def _inline_scripts(page: str) -> list[str]:
    return [tag for tag in re.findall(r"<script[^>]*>", page) if "src=" not in tag]


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "reliability of 2026年第三季度考评" in result.output and "2026年第二季度考评" in result.output


def test_each_roles_landing_page_and_report_pages_show_real_figures(app, client, demo):
    # the officer: own latest 360 report on the landing page, with its chart
    _login(client, "officer")
    officer_id, unit_id = _ids(app, "officer")
    home = client.get("/").get_data(as_text=True)
    assert 'id="home-report"' in home and "2026年第三季度考评" in home
    _charts_have_tables(home)
    page = client.get(f"/reports/officers/{officer_id}").get_data(as_text=True)
    assert "2026年第三季度考评" in page and 'id="item-table"' in page
    assert re.search(r"<td class=\"text-end\">[1-5]\.\d\d </td>", page)  # gated means, counts for admins only
    for section in ("盲点", "潜在优势", "匿名意见", "历次对比", "群众满意度", "团队贡献积分", "考评结果与发展计划"):
        assert section in page
    _charts_have_tables(page, 2)  # radar + trend
    trend = page.split('id="trend"')[1].split("</section>")[0]
    assert "2026年第二季度考评" in trend and "2026年第三季度考评" in trend
    assert "另存为 PDF" in page and "data-print" in page
    # under content-hashed names (app.staticfiles)
    assert re.search(r'href="/static/css/reports\.[0-9a-f]{12}\.css"', page)
    assert re.search(r'src="/static/js/reports\.[0-9a-f]{12}\.js"', page)
    assert _inline_scripts(page) == []
    # the open cycle's report shows the running resident satisfaction and team points of the officer
    with app.app_context():
        current = db.session.execute(sa.select(Cycle).filter_by(status="open")).scalar_one()
    page = client.get(f"/reports/officers/{officer_id}?cycle={current.id}").get_data(as_text=True)
    assert "尚未关闭" in page

    # the leader: the station's result on the landing page and the dashboard
    _login(client, "leader")
    _leader_id, ps01 = _ids(app, "leader")
    home = client.get("/").get_data(as_text=True)
    # 2025's result is on public notice (公示): shown to the station as provisional, with its banner
    assert 'id="home-unit"' in home and "2025年度考评 · 第 1 版（公示中的暂定结果）" in home
    _charts_have_tables(home)
    dash = client.get(f"/reports/units/{ps01}").get_data(as_text=True)
    assert "暂定结果（公示中）" in dash and "提出申诉" in dash
    assert re.search(r'id="unit-total">\d+\.\d\d<', dash)
    assert re.search(r'id="unit-rank">\d+ <span class="h6 text-muted">/ \d+', dash)
    assert "与上一周期相比（2024年度考评）" in dash  # 2025 against 2024
    # one format for scores: every total and dimension score of the comparison with two decimals
    changes = dash.split('id="changes"')[1].split("</section>")[0]
    changes, ranks = re.subn(r'<tr><th scope="row">类别内排名</th>.*?</tr>', "", changes, flags=re.S)  # whole
    assert ranks == 1
    figures = re.findall(r'<td class="text-end">([-+]?\d[\d.]*)</td>', changes)
    assert figures and all(re.fullmatch(r"\d+\.\d\d", f) for f in figures), figures
    assert 'id="overdue"' in dash and "民警 360 得分分布" in dash
    # a leader never sees an unpublished run
    assert "未发布" not in dash
    # the open cycle's view: its 360 completion, and no figure of another cycle
    with app.app_context():
        current = db.session.execute(sa.select(Cycle).filter_by(status="open")).scalar_one()
    dash = client.get(f"/reports/units/{ps01}?cycle={current.id}").get_data(as_text=True)
    assert re.search(r'id="unit-rate">\d+\.\d%', dash)
    body = dash.split("</select>")[1]  # after the one cycle picker
    assert 'id="unit-total"' not in body and "本单位在本周期还没有考评结果" in body
    assert "2025年度考评" not in body and "2024年度考评" not in body

    # the admin: the bureau overview on the landing page and in full
    _login(client, "admin")
    home = client.get("/").get_data(as_text=True)
    assert 'id="home-bureau"' in home
    _charts_have_tables(home)
    page = client.get("/reports/bureau").get_data(as_text=True)
    # the open cycle has no run yet and 2025's is on notice: the latest final result
    assert "2024年度考评 · 第 1 版（已发布）" in page and "公示中" not in page.split('id="run-label"')[1][:80]
    assert "2026年第四季度考评：按完整程度" in page  # completeness of the current cycle
    assert 'id="ranking-1"' in page and 'id="ranking-3"' in page
    assert "石桥派出所" in page  # the 约谈 flag of the two past years
    assert 'id="reliability-table"' in page and "ICC(1,k)" in page
    assert re.search(r"badge text-bg-\w+\">(良好|可接受|较差)</span>", page)
    alphas = re.findall(r'<td class="text-end">(\d\.\d\d|—)</td>\s*<td class="text-end">\d+</td>',
                        page.split('id="reliability-table"')[1])
    assert alphas and all(a != "—" for a in alphas)  # alpha per competency and group
    _charts_have_tables(page, 2)  # totals per category, grades per category


def _page_ranking(page: str) -> dict[str, list]:
    out = {}
    for code, body in re.findall(r'<tr data-unit="([^"]+)">(.*?)</tr>', page.split('id="completeness"')[0], re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
        out[code] = cells
    return out


def test_the_exports_have_the_same_numbers_as_the_pages(app, client, demo):
    _login(client, "admin")
    with app.app_context():
        past = db.session.execute(sa.select(Cycle).filter_by(name="2024年度考评")).scalar_one()
    for query in ("", f"?cycle={past.id}"):
        page = client.get(f"/reports/bureau{query}").get_data(as_text=True)
        response = client.get(f"/reports/bureau.xlsx{query}")
        assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
        book = load_workbook(io.BytesIO(response.data))
        assert book.sheetnames == ["排名", "维度得分", "数据完整性", "评价完成率"]
        rows = list(book["排名"].values)
        assert rows[0][:7] == ("类别", "类别内排名", "单位代码", "单位", "总分", "难度系数", "难度加权分（可超过 100）")
        shown = _page_ranking(page)
        assert len(rows) - 1 == len(shown) == 12
        for _cat, rank, code, name, total, coef, adjusted, before, after, moved, grade, _bonus, coverage in rows[1:]:
            cells = shown[code]
            assert cells[0] == str(rank) and cells[1] == name
            assert cells[2] == f"{total:.2f}" and cells[3] == f"{coef:g}" and cells[4] == f"{adjusted:.2f}"
            assert cells[5] == str(before) and cells[6] == str(after) and cells[7] == (f"{moved:+d}" if moved else "")
            assert cells[8] == grade and cells[9] == f"{coverage:.1f}%"
        # the difficulty coefficients (1.1 / 1.05 / 1) move some stations in the bureau-wide ranking
        assert any(r[9] for r in rows[1:])
        completeness = {r[0]: r for r in list(book["数据完整性"].values)[1:]}
        assert len(completeness) == 12
        tail = page.split('id="completeness"')[1]
        for code, body in re.findall(r'<tr data-unit="([^"]+)">(.*?)</tr>', tail, re.S):
            cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
            row = completeness[code]
            assert cells[2] == (f"{row[3]:.1f}%" if row[3] is not None else "—")
            assert cells[3] == (f"{row[5]:.1f}%" if row[5] is not None else "—")
            assert cells[4] == str(row[6])

    # the station export matches its dashboard
    _login(client, "leader")
    _leader_id, ps01 = _ids(app, "leader")
    dash = client.get(f"/reports/units/{ps01}").get_data(as_text=True)
    book = load_workbook(io.BytesIO(client.get(f"/reports/units/{ps01}.xlsx").data))
    dims = list(book["维度得分"].values)
    assert dims[0] == ("维度", "得分", "同类别平均", "权重")
    for label, score, mean, _weight in dims[1:]:
        cells = rf'<th scope="row">{label}</th><td class="text-end">{score}</td><td class="text-end">{mean}</td>'
        assert re.search(cells, dash), label
    _residents_sheet_matches(book, dash)
    # the 360 completion of the open cycle's view and export
    with app.app_context():
        current = db.session.execute(sa.select(Cycle).filter_by(status="open")).scalar_one()
    dash = client.get(f"/reports/units/{ps01}?cycle={current.id}").get_data(as_text=True)
    book = load_workbook(io.BytesIO(client.get(f"/reports/units/{ps01}.xlsx?cycle={current.id}").data))
    rates = list(book["评价完成率"].values)
    total = sum(r[1] for r in rates[1:])
    done = sum(r[2] + r[3] for r in rates[1:])
    assert f"{100 * done / total:.1f}%" in dash
    assert _residents_sheet_matches(book, dash) > 0  # the open cycle has resident answers


def _residents_sheet_matches(book, dash: str) -> int:
    """The station export's residents sheet has the dashboard's figures; returns its answer count."""
    rows = dict(list(book["群众满意率"].values)[1:])
    assert f'id="overdue">{rows["已超期未完成"]}</td>' in dash
    assert f'<th scope="row">待核查</th><td class="text-end">{rows["待核查"]}</td>' in dash
    shown = re.search(r'id="unit-residents">([\d.]+)%</span>', dash)
    if shown is None:
        assert "本周期还没有群众评价。" in rows and "本周期还没有群众评价。" in dash
        return 0
    rate = rows["满意率（收缩后，%）"]
    assert float(shown.group(1)) == rate
    assert rows["90% 区间下限（%）"] <= rate <= rows["90% 区间上限（%）"]
    assert f'{rows["评价数"]} 份评价' in dash
    return rows["评价数"]


def test_the_print_stylesheet_is_a4(client):
    response = client.get("/static/css/reports.css")
    css = response.get_data(as_text=True)
    response.close()
    assert "@media print" in css and "@page" in css and "size: A4" in css
    assert "nav.navbar" in css  # the navigation is not printed
    response = client.get("/static/js/reports.js")
    js = response.get_data(as_text=True)
    response.close()
    assert "window.print()" in js


# ---- who sees what -----------------------------------------------------------------------------
def test_the_role_page_matrix(app, client):
    world = build_world(app, members=3)
    with app.app_context():
        make_user("admin", roles={"admin"})
        make_user("coordinator", roles={"coordinator"})
        db.session.commit()
        member, other_member = world.member_ids[0], world.member_ids[1]
    pages = {
        "own": f"/reports/officers/{member}",
        "colleague": f"/reports/officers/{other_member}",
        "leader_report": f"/reports/officers/{world.leader_id}",
        "outsider": f"/reports/officers/{world.outsider_id}",
        "unit": f"/reports/units/{world.unit_id}",
        "unit_xlsx": f"/reports/units/{world.unit_id}.xlsx",
        "other_unit": f"/reports/units/{world.other_unit_id}",
        "other_unit_xlsx": f"/reports/units/{world.other_unit_id}.xlsx",
        "bureau": "/reports/bureau",
        "bureau_xlsx": "/reports/bureau.xlsx",
        "index": "/reports/",
        "no_officer": "/reports/officers/999999",
        "no_unit": "/reports/units/999999",
        "no_unit_xlsx": "/reports/units/999999.xlsx",
        "no_cycle": f"/reports/officers/{member}?cycle=999999",
    }
    allowed = {
        "m0": {"own", "index"},
        "leader": {"own", "colleague", "leader_report", "unit", "unit_xlsx", "index"},
        "outsider": {"own", "outsider", "index"},
        "coordinator": {"index"},
        "admin": set(pages) - {"no_officer", "no_unit", "no_unit_xlsx", "no_cycle"},
    }
    missing = {"no_officer", "no_unit", "no_unit_xlsx"}
    for username, ok in allowed.items():
        client.post("/logout")
        assert client.post("/login", data={"username": username, "password": "password123"}).status_code == 302
        me = {"m0": member, "leader": world.leader_id, "outsider": world.outsider_id}.get(username)
        for name, url in pages.items():
            if name == "own":
                if me is None:
                    continue
                url = f"/reports/officers/{me}"
            status = client.get(url).status_code
            if name in ok:
                expected = 200
            elif name in missing or (name == "no_cycle" and username in ("m0", "leader", "admin")):
                expected = 404
            else:
                expected = 403
            assert status == expected, (username, name, url, status)
    client.post("/logout")
    for url in pages.values():
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_nav_and_landing_panels_by_role(app, client):
    world = build_world(app, members=3)
    with app.app_context():
        make_user("admin", roles={"admin"})
        db.session.commit()
    client.post("/login", data={"username": "m0", "password": "password123"})
    home = client.get("/").get_data(as_text=True)
    assert 'href="/reports/"' in home  # the navigation entry
    assert "home-bureau" not in home and "home-unit" not in home
    client.post("/logout")
    client.post("/login", data={"username": "leader", "password": "password123"})
    home = client.get("/").get_data(as_text=True)
    assert 'id="home-unit"' in home and "本单位还没有考评结果" in home
    page = client.get("/reports/").get_data(as_text=True)
    assert f"/reports/units/{world.unit_id}" in page and f"/reports/officers/{world.member_ids[0]}" in page


# ---- the individual report keeps the anonymity gates ------------------------------------------------
def test_the_individual_report_never_shows_a_group_below_its_threshold(app, client):
    world = build_world(app, members=6, peers=3)
    me = world.member_ids[0]
    answer(app, me, me, "self", 5)
    answer(app, world.leader_id, me, "supervisor", 3)
    raters = peers_of(app, me)
    answer(app, raters[0], me, "peer", 4, comment="配合很好")
    answer(app, raters[1], me, "peer", 2, comment="需要多沟通")
    close(app, world.cycle_id)
    for username in ("m0", "leader"):
        client.post("/logout")
        client.post("/login", data={"username": username, "password": "password123"})
        page = client.get(f"/reports/officers/{me}?cycle={world.cycle_id}").get_data(as_text=True)
        table = page.split('id="item-table"')[1].split("</table>")[0]
        assert "5.00" in table
        # the single supervisor is shown to the ratee only (the one attributed exception); the leader
        # who gave it sees no supervisor figure built from nobody but himself
        assert ("3.00" in table) == (username == "m0")
        # two peers (< 3) and three others (< 4): hidden, and so are their comments (the chart's drawing
        # is left out of the search: its coordinates hold digits like 172.000000)
        text = re.sub(r"<svg.*?</svg>", "", page, flags=re.S)
        assert "4.00" not in text and "2.00" not in text and "配合很好" not in text
        radar_table = page.split('<figure class="row g-3 align-items-center chart">')[1].split("</figure>")[0]
        assert "同事" not in radar_table and "自评" in radar_table
        assert ("领导" in radar_table) == (username == "m0")
        for rater in raters:
            with app.app_context():
                assert db.session.get(Officer, rater).name not in page
        # the self − others gap needs "others": nothing to call a blind spot
        assert "没有明显的盲点" in page


def test_blind_spots_and_hidden_strengths_use_the_configured_threshold(app, client):
    world = build_world(app, members=6, peers=3)
    me = world.member_ids[0]

    def by_competency(item):
        return 5 if item.competency == "dispute" else 2 if item.competency == "public" else 3

    def others(item):
        return 3 if item.competency == "dispute" else 4 if item.competency == "public" else 3

    answer(app, me, me, "self", by_competency)
    answer(app, world.leader_id, me, "supervisor", others)
    for rater in peers_of(app, me):
        answer(app, rater, me, "peer", others)
    close(app, world.cycle_id)
    client.post("/login", data={"username": "m0", "password": "password123"})
    page = client.get(f"/reports/officers/{me}?cycle={world.cycle_id}").get_data(as_text=True)
    gaps = page.split('id="gaps"')[1].split("</section>")[0]
    blind, hidden = gaps.split("潜在优势</h3>")
    # one format for scores: self, others and their gap all with two decimals
    assert "矛盾化解：自评 5.00，他评 3.00，相差 +2.00" in blind
    assert "群众工作：自评 2.00，他评 4.00，相差 -2.00" in hidden
    assert "1.0 分以上" in gaps
    # a cycle's own threshold wins
    with app.app_context():
        cycle = db.session.get(Cycle, world.cycle_id)
        cycle.config = {**cycle.config, "feedback": {**cycle.config["feedback"], "gap_threshold": 2.5}}
        db.session.commit()
    page = client.get(f"/reports/officers/{me}?cycle={world.cycle_id}").get_data(as_text=True)
    assert "没有明显的盲点" in page and "没有明显的潜在优势" in page and "2.5 分以上" in page


# ---- reliability ---------------------------------------------------------------------------------
def test_reliability_is_computed_on_request_and_stored(app, client):
    world = build_world(app, members=6, peers=3)
    for me in world.member_ids:
        for i, rater in enumerate(peers_of(app, me)):
            answer(app, rater, me, "peer", lambda item, r=i, m=me: 2 + (m + r + item.position) % 3)
    close(app, world.cycle_id)
    with app.app_context():
        make_user("admin", roles={"admin"})
        empty = make_cycle(name="空周期", starts_on=world_start(), ends_on=world_start(), status="closed")
        db.session.commit()
        empty_id = empty.id
    client.post("/login", data={"username": "admin", "password": "password123"})
    page = client.get(f"/reports/bureau?cycle={world.cycle_id}").get_data(as_text=True)
    assert "尚未计算" in page
    # a cycle without answers: a clear message and nothing stored
    response = client.post(f"/reports/cycles/{empty_id}/reliability", follow_redirects=True)
    assert "没有已提交的 360 评价，无法计算信度" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ReliabilityReport.id))) == 0
    response = client.post(f"/reports/cycles/{world.cycle_id}/reliability", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "已计算" in page and 'id="reliability-table"' in page
    with app.app_context():
        stored = db.session.execute(sa.select(ReliabilityReport)).scalar_one()
        assert stored.answers > 0 and {r["group"] for r in stored.data["rows"]} == {"peer"}
    # only admins may compute
    client.post("/logout")
    client.post("/login", data={"username": "leader", "password": "password123"})
    assert client.post(f"/reports/cycles/{world.cycle_id}/reliability").status_code == 403


def world_start():
    from datetime import date

    return date(2020, 1, 1)


def test_the_bureau_overview_without_any_results(app, client):
    with app.app_context():
        make_user("admin", roles={"admin"})
        db.session.add(Unit(code="PS09", name="空所", kind="station", category=2))
        db.session.commit()
    client.post("/login", data={"username": "admin", "password": "password123"})
    page = client.get("/reports/bureau").get_data(as_text=True)
    assert "还没有计算结果" in page and "还没有已关闭的 360 评价周期" in page and "空所" in page
    book = load_workbook(io.BytesIO(client.get("/reports/bureau.xlsx").data))
    assert list(book["排名"].values) == [("类别", "类别内排名", "单位代码", "单位", "总分", "难度系数",
                                         "难度加权分（可超过 100）", "全局排名（按总分）", "全局排名（按难度加权分）",
                                         "难度系数带来的名次变化",
                                         "等次", "奖金（元）", "指标覆盖率（%）")]


def test_an_unpublished_run_is_shown_to_admins_only_and_labelled(app, client, demo):
    from app.models import ScoreResult, ScoreRun

    with app.app_context():
        current = db.session.execute(sa.select(Cycle).filter_by(status="open")).scalar_one()
        cycle_id = current.id
    _login(client, "admin")
    assert client.post(f"/assessment/cycles/{cycle_id}/compute", data={"reason": ""}).status_code == 302
    # Bureau-wide figures (rankings, grades, bonuses) come from the newest final result only:
    # neither the open cycle's computed run nor the 2025 run on public notice.
    for page in (client.get("/reports/bureau").get_data(as_text=True),
                 client.get(f"/reports/bureau?cycle={cycle_id}").get_data(as_text=True)):
        assert "2024年度考评 · 第 1 版（已发布）" in page and "未发布的试算结果" not in page
        assert "民警考评得分分布" in page  # the annual runs score officers too
    officer_id, _unit = _ids(app, "officer")
    admin_view = client.get(f"/reports/officers/{officer_id}?cycle={cycle_id}").get_data(as_text=True)
    assert "未发布的试算结果，仅供参考" in admin_view
    # someone in the bottom group gets an improvement plan naming their weakest indicators
    with app.app_context():
        run = db.session.execute(sa.select(ScoreRun).filter_by(cycle_id=cycle_id)).scalar_one()
        from app.assessment.runs import dual_track_groups

        bottom = dual_track_groups(run)["bottom"][0]["result"]
        weakest = dual_track_groups(run)["bottom"][0]["indicators"][0]["name"]
        assert db.session.get(ScoreResult, bottom.id).officer_id
        bottom_officer = bottom.officer_id
    plan = client.get(f"/reports/officers/{bottom_officer}?cycle={cycle_id}").get_data(as_text=True)
    assert "个人提升计划" in plan and weakest in plan

    _login(client, "officer")
    own = client.get(f"/reports/officers/{officer_id}?cycle={cycle_id}").get_data(as_text=True)
    assert "未发布" not in own and "本周期还没有发布的个人考评结果" in own
    _login(client, "leader")
    _leader, ps01 = _ids(app, "leader")
    dash = client.get(f"/reports/units/{ps01}?cycle={cycle_id}").get_data(as_text=True)
    # one cycle per view: the cycle's unpublished run is not shown, nor another cycle's result in its place
    assert "未发布" not in dash and "本单位在本周期还没有考评结果" in dash and 'id="unit-total"' not in dash


def test_ranks_go_by_the_total_and_the_weighted_score_is_named_as_such(app, client):
    """Hand-made published run. 一类 (coefficient 1.1): 甲所 90 → 99, 乙所 80 → 88; 三类 (1.0):
    丙所 95 → 95. Within 一类 甲所 is 1st by its total; the category chart shows totals (best 90,
    mean 85, worst 80), not weighted scores (99, 93.5, 88). Across categories by total: 丙 1, 甲 2,
    乙 3; by weighted score: 甲 1, 丙 2, 乙 3, so 甲 moves up one and 丙 down one."""
    from datetime import date, datetime

    from app.models import ScoreResult, ScoreRun
    from app.reports import services as report_services

    from ..factories import make_unit

    with app.app_context():
        make_user("admin", roles={"admin"})
        units = [make_unit("PS01", name="甲所", category=1), make_unit("PS02", name="乙所", category=1),
                 make_unit("PS03", name="丙所", category=3)]
        cycle = make_cycle(name="2026年度考评", kind="year", starts_on=date(2026, 1, 1),
                           status="closed")
        run = ScoreRun(cycle_id=cycle.id, version=1, status="published", published_at=datetime(2027, 1, 5),
                       config={"grades": {"on": "total"}}, options={})
        db.session.add(run)
        db.session.flush()
        for unit, total, coefficient, rank in ((units[0], 90.0, 1.1, 1), (units[1], 80.0, 1.1, 2),
                                               (units[2], 95.0, 1.0, 1)):
            db.session.add(ScoreResult(run_id=run.id, level="unit", unit_id=unit.id, category=unit.category,
                                       total=total, adjusted_total=round(total * coefficient, 6),
                                       coefficient=coefficient, rank=rank, grade="good", coverage=1.0))
        db.session.commit()
        view = report_services.bureau_overview(None)
        assert view.category_chart.rows == [["一类", 90.0, 85.0, 80.0], ["三类", 95.0, 95.0, 95.0]]
    client.post("/login", data={"username": "admin", "password": "password123"})
    page = client.get("/reports/bureau").get_data(as_text=True)
    assert "类别内排名按总分（0–100）排列" in page and "等次按总分评定" in page and "调整后" not in page
    shown = _page_ranking(page)
    # rank, name, total, coefficient, weighted, overall by total, overall by weighted, moved
    assert shown["PS01"][:8] == ["1", "甲所", "90.00", "1.1", "99.00", "2", "1", "+1"]
    assert shown["PS02"][:8] == ["2", "乙所", "80.00", "1.1", "88.00", "3", "3", ""]
    assert shown["PS03"][:8] == ["1", "丙所", "95.00", "1", "95.00", "1", "2", "-1"]
    home = client.get("/").get_data(as_text=True)
    assert "甲所（90.00）" in home and "丙所（95.00）" in home


def test_the_station_dashboard_shows_its_resident_satisfaction_for_its_one_cycle(app, client):
    """PS01: 8 link answers 4,4,3,3,3,4,2,4 + 1 window 4 → 9 answers; PS02: 2 answers (a station's figure
    needs no minimum, unlike an officer's). The page prints the soft indicator's own shrunk rate and
    interval with one decimal, and only the chosen cycle's figures."""
    from datetime import date

    from app.models import ResidentResponse, ServiceType
    from app.residents import services as resident_services

    from ..factories import make_officer, make_unit

    with app.app_context():
        bureau = make_unit("BJ", kind="bureau")
        a, b = make_unit("PS01", parent=bureau), make_unit("PS02", parent=bureau)
        officer_a, officer_b = make_officer(a, badge_no="100001"), make_officer(b, badge_no="100002")
        cycle = make_cycle(status="open")
        earlier = make_cycle(name="2026年第三季度", starts_on=date(2026, 7, 1), ends_on=date(2026, 9, 30),
                             status="closed")
        service = ServiceType(name="110 接处警", is_sensitive=False, is_active=True)
        db.session.add(service)
        db.session.flush()
        for unit, officer, levels in ((a, officer_a, [4, 4, 3, 3, 3, 4, 2, 4]), (b, officer_b, [1, 3])):
            for level in levels:
                invitation, _token = resident_services.create_invitation(
                    service_type=service, unit=unit, badges=[officer.badge_no], reference="", created_by=None)
                db.session.add(ResidentResponse(invitation=invitation, unit_id=unit.id, channel="link",
                                                answered_on=date(2026, 11, 2), overall=level, attitude=level,
                                                efficiency=level, fairness=level, resolved="yes"))
        db.session.add(ResidentResponse(unit_id=a.id, channel="window", answered_on=date(2026, 11, 3), overall=4,
                                        attitude=4, efficiency=4, fairness=4, resolved="yes"))
        make_user("boss", roles={"admin"}, password="demo1234")
        db.session.commit()
        details = resident_services.soft_indicator_values(cycle)["soft_residents"]["details"]
        ids = {"a": a.id, "b": b.id, "cycle": cycle.id, "earlier": earlier.id}
    _login(client, "boss")
    for key, n in (("a", 9), ("b", 2)):
        page = client.get(f"/reports/units/{ids[key]}?cycle={ids['cycle']}").get_data(as_text=True)
        d = details[ids[key]]
        assert f'id="unit-residents">{100 * d["rate"]:.1f}%<' in page
        assert f'区间 {100 * d["low"]:.1f}%–{100 * d["high"]:.1f}% · {n} 份评价' in page
        # the cycle is said once, at the top
        head, body = page.split("</select>", 1)
        assert "2026年第四季度" in head.split("</h1>")[1] and "2026年第四季度" not in body
    # PS02's 不满意 and 满意 → 0 and 1: raw 1 / 2, shrunk toward the better PS01 (prior) but not past it
    assert details[ids["b"]]["raw_rate"] == pytest.approx(0.5)
    assert 0.5 < details[ids["b"]]["rate"] < details[ids["a"]]["rate"]
    assert details[ids["a"]]["low"] <= details[ids["a"]]["rate"] <= details[ids["a"]]["high"]
    # another cycle's view has none of these answers
    page = client.get(f"/reports/units/{ids['a']}?cycle={ids['earlier']}").get_data(as_text=True)
    assert "本周期还没有群众评价" in page and 'id="unit-residents"' not in page


def test_one_number_format_per_kind_of_figure(app):
    """Scores with two decimals (signed where a change), rates in % with one, counts whole, missing as —."""
    with app.test_request_context():
        text = app.jinja_env.from_string(
            "{{ 87.5|score }} {{ 2|score(signed=true) }} {{ -0.125|score(signed=true) }} {{ 92.34|percent }} "
            "{{ 7.0|count }} {{ none|score }} {{ none|percent }}").render()
    assert text == "87.50 +2.00 -0.12 92.3% 7 — —"
