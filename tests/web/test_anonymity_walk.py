"""Rater anonymity on every page and export, as every role.

A small closed, scored and published cycle in one station: R1 is rated by two supervisors (所长 A and
教导员 B) and a single peer; R2 by supervisor A alone and three peers. Every rater answers with a
distinctive pattern, so that one rater's own mean (per competency, overall, teamwork, teamwork on the
0–100 scale) is a number that no pool of two or more raters produces. The test walks every page,
xlsx and JSON that can carry a 360 figure as admin, coordinator, both leaders, both ratees, a peer and
an outsider, and fails if any of them shows a single rater's figure that the rule forbids that viewer
(the rule: figures rest on at least the group's minimum of raters other than the viewer; the one
exception is the ratee's single attributed supervisor).
"""
import io
import itertools
import json
import re
from collections import defaultdict
from datetime import date, timedelta

import sqlalchemy as sa
from openpyxl import load_workbook

from app.admin.services import transition_cycle
from app.api.services import create_client
from app.assessment import runs
from app.assessment.services import seed_catalogue
from app.extensions import db
from app.feedback import services as feedback
from app.feedback.instruments import ensure_default_instruments
from app.models import Answer, Assignment, Cycle, InstrumentItem, Officer, Response, ScoreResult
from surveys.instruments import TEAMWORK

from ..factories import PASSWORD, make_cycle, make_officer, make_unit, make_user
from .test_feedback_results import answer

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# Distinct answer patterns (per rater, by the item's position in the questionnaire).
PATTERNS = {"A": (1, 2, 1, 1, 2), "B": (5, 4, 4, 5, 3), "P1": (2, 3, 5, 3, 2), "P2": (4, 4, 3, 3, 4),
            "P3": (3, 5, 4, 4, 5), "R1": (4, 5, 5, 4, 5), "R2": (3, 3, 4, 2, 3)}


def _pattern(name):
    values = PATTERNS[name]
    return lambda item: values[item.position % len(values)]


def _seed(app):
    """The station, the people and their users, the cycle and its answers; closed, scored, published."""
    with app.app_context():
        bureau = make_unit("BJ", "示范县公安局", kind="bureau")
        unit = make_unit("PS01", category=1, parent=bureau)
        other = make_unit("PS02", category=1, parent=bureau)
        people = {}
        for name, leader in (("A", True), ("B", True), ("R1", False), ("R2", False), ("P1", False), ("P2", False),
                             ("P3", False)):
            people[name] = make_officer(unit, name=f"民警{name}", badge_no=f"90{len(people)}", is_leader=leader)
        people["X"] = make_officer(other, name="外所民警", badge_no="999")
        make_user("admin", roles={"admin"})
        make_user("coord", roles={"coordinator"})
        for name, officer in people.items():
            roles = {"officer", "supervisor"} if officer.is_leader else {"officer"}
            make_user(name.lower(), roles=roles, officer=officer)
        seed_catalogue()
        today = date.today()
        cycle = make_cycle(starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=30),
                           deadline_on=today + timedelta(days=10))
        ensure_default_instruments()
        plan = [("R1", "R1", "self"), ("A", "R1", "supervisor"), ("B", "R1", "supervisor"), ("P1", "R1", "peer"),
                ("R2", "R2", "self"), ("A", "R2", "supervisor"), ("P1", "R2", "peer"), ("P2", "R2", "peer"),
                ("P3", "R2", "peer")]
        for rater, ratee, relation in plan:
            feedback.add_assignment(cycle, people[rater].badge_no, people[ratee].badge_no, relation)
        transition_cycle(cycle, "open")
        db.session.commit()
        ids = {name: o.id for name, o in people.items()}
        cycle_id, unit_id = cycle.id, unit.id
    for rater, ratee, relation in plan:
        answer(app, ids[rater], ids[ratee], relation, _pattern(rater))
    with app.app_context():
        cycle = db.session.get(Cycle, cycle_id)
        transition_cycle(cycle, "closed")
        run = runs.compute_run(cycle)
        runs.publish_run(run, note="test: no hard data in this 360-only world")
        db.session.commit()
        results = dict(db.session.execute(sa.select(ScoreResult.officer_id, ScoreResult.id).where(
            ScoreResult.run_id == run.id, ScoreResult.level == "officer")).all())
        unit_result = db.session.execute(sa.select(ScoreResult.id).filter_by(run_id=run.id, unit_id=unit_id)
                                         ).scalar_one()
        _client, token = create_client("考评对接")
        db.session.commit()
        return {"ids": ids, "cycle": cycle_id, "unit": unit_id, "run": run.id, "results": results,
                "unit_result": unit_result, "token": token, "relations": plan}


def _rater_figures(app, cycle_id, ratee_id) -> dict[int, tuple[str, set[float]]]:
    """{rater officer id: (relation, the figures of that rater alone)} for a ratee: per-competency
    means, overall mean, teamwork mean and teamwork on 0–100, rounded to 2 decimals."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Assignment.rater_id, Assignment.relation, InstrumentItem.competency, Answer.value)
            .join(Response, Response.assignment_id == Assignment.id).join(Answer, Answer.response_id == Response.id)
            .join(InstrumentItem, InstrumentItem.id == Answer.item_id)
            .where(Assignment.cycle_id == cycle_id, Assignment.ratee_id == ratee_id)).all()
    values: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    relation = {}
    for rater, rel, competency, value in rows:
        relation[rater] = rel
        values[rater][competency].append(value)
    out = {}
    for rater, by_comp in values.items():
        figures = {round(sum(v) / len(v), 2) for v in by_comp.values()}
        everything = [x for v in by_comp.values() for x in v]
        figures.add(round(sum(everything) / len(everything), 2))
        team = by_comp[TEAMWORK]
        figures.add(round((sum(team) / len(team) - 1) * 25, 2))
        out[rater] = (relation[rater], figures)
    return out


def _pooled_figures(app, cycle_id, ratee_id) -> set[float]:
    """Every mean that a pool of two or more of the ratee's non-self raters (or the self rating) gives:
    what a page may legitimately show. A single rater's figure equal to one of these is not a sign."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Assignment.rater_id, Assignment.relation, InstrumentItem.competency, Answer.value)
            .join(Response, Response.assignment_id == Assignment.id).join(Answer, Answer.response_id == Response.id)
            .join(InstrumentItem, InstrumentItem.id == Answer.item_id)
            .where(Assignment.cycle_id == cycle_id, Assignment.ratee_id == ratee_id)).all()
    per: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    self_ids = set()
    for rater, rel, competency, value in rows:
        per[rater][competency].append(value)
        if rel == "self":
            self_ids.add(rater)
    others = [r for r in per if r not in self_ids]
    out = set()
    for r in self_ids:
        out |= {round(sum(v) / len(v), 2) for v in per[r].values()}
    for size in range(2, len(others) + 1):
        for pool in itertools.combinations(others, size):
            for competency in {c for r in pool for c in per[r]}:
                means = [sum(per[r][competency]) / len(per[r][competency]) for r in pool if per[r][competency]]
                answers = [v for r in pool for v in per[r][competency]]
                out.add(round(sum(means) / len(means), 2))
                out.add(round(sum(answers) / len(answers), 2))
                if competency == TEAMWORK:
                    out.add(round((sum(answers) / len(answers) - 1) * 25, 2))
            everything = [v for r in pool for vs in per[r].values() for v in vs]
            out.add(round(sum(everything) / len(everything), 2))
    return out


def _forbidden(app, world, viewer: str | None) -> dict[float, str]:
    """{figure: whose} single-rater figures ``viewer`` must never see (None: someone who rated nobody)."""
    ids = world["ids"]
    me = ids.get(viewer) if viewer else None
    out, allowed = {}, set()
    for ratee in ("R1", "R2"):
        figures = _rater_figures(app, world["cycle"], ids[ratee])
        pooled = _pooled_figures(app, world["cycle"], ids[ratee])
        supervisors = [r for r, (rel, _f) in figures.items() if rel == "supervisor"]
        for rater, (relation, values) in figures.items():
            if relation == "self" or rater == me:
                continue
            if me == ids[ratee] and relation == "supervisor" and len(supervisors) == 1:
                allowed |= values  # the designed exception
                continue
            for v in values:
                if v not in pooled and not float(v).is_integer():
                    out[v] = f"{relation} {rater} of {ratee}"
    return {v: who for v, who in out.items() if v not in allowed}


def _numbers_in_html(page: str) -> set[float]:
    text = re.sub(r"<svg.*?</svg>", "", page, flags=re.S)
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)  # attributes (ids, urls) are not figures
    return {round(float(n), 2) for n in NUMBER.findall(text) if "." in n}


def _numbers_in_xlsx(data: bytes) -> set[float]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    out = set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for v in row:
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    out.add(round(float(v), 2))
                elif isinstance(v, str):
                    out |= {round(float(n), 2) for n in NUMBER.findall(v) if "." in n}
    return out


def _numbers_in_json(value) -> set[float]:
    if isinstance(value, dict):
        return set().union(*(_numbers_in_json(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_numbers_in_json(v) for v in value)) if value else set()
    if isinstance(value, float):
        return {round(value, 2)}
    return set()


def _urls(world) -> list[str]:
    c, u, run = world["cycle"], world["unit"], world["run"]
    urls = ["/", "/feedback/", "/feedback/results", f"/feedback/results/{c}", "/reports/",
            f"/reports/units/{u}?cycle={c}", f"/reports/units/{u}.xlsx?cycle={c}", "/reports/bureau",
            f"/reports/bureau?cycle={c}", f"/reports/bureau.xlsx?cycle={c}", "/assessment/", f"/assessment/runs/{run}",
            f"/assessment/runs/{run}/export.xlsx", f"/assessment/runs/{run}/dual-track",
            f"/assessment/runs/{run}/dual-track?level=unit", f"/feedback/tracking?cycle={c}",
            f"/feedback/tracking.xlsx?cycle={c}", f"/admin/feedback/cycles/{c}/tracking",
            f"/admin/feedback/cycles/{c}/tracking.xlsx", f"/admin/feedback/cycles/{c}/design", f"/admin/cycles/{c}"]
    urls.append(f"/assessment/results/{world['unit_result']}")
    for ratee in ("R1", "R2"):
        oid = world["ids"][ratee]
        urls += [f"/reports/officers/{oid}", f"/reports/officers/{oid}?cycle={c}",
                 f"/assessment/results/{world['results'][oid]}"]
    return urls


def _walk(client, world, username) -> tuple[dict[str, set[float]], dict[str, str]]:
    client.post("/logout")
    if username:
        assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    seen, pages = {}, {}
    for url in _urls(world):
        response = client.get(url)
        assert response.status_code in (200, 302, 403, 404), (username, url, response.status_code)
        if response.status_code != 200:
            continue
        if response.mimetype.endswith("spreadsheetml.sheet"):
            seen[url] = _numbers_in_xlsx(response.data)
        else:
            page = response.get_data(as_text=True)
            pages[url] = page
            # the cycle page's assessment settings list weights (12.5 …), not 360 figures
            numbers_of = re.sub(r'<section class="card mb-4" id="assessment">.*?</section>', "", page, flags=re.S)
            seen[url] = _numbers_in_html(numbers_of)
    return seen, pages


ROLES = {"admin": None, "coord": None, "a": "A", "b": "B", "r1": "R1", "r2": "R2", "p1": "P1", "x": "X"}


def test_no_page_or_export_shows_a_figure_of_one_rater_the_rule_forbids(app, client):
    world = _seed(app)
    walked = 0
    for username, person in ROLES.items():
        forbidden = _forbidden(app, world, person)
        # the seeded patterns must give the walk something to find: each supervisor's and the lone
        # peer's own figures are distinctive
        assert len(forbidden) >= 6, (username, forbidden)
        seen, pages = _walk(client, world, username)
        walked += len(seen)
        for url, numbers in seen.items():
            leaked = {v: forbidden[v] for v in numbers if v in forbidden}
            assert not leaked, (username, url, leaked)
        for url, page in pages.items():
            if username != "admin":  # raw details are for admins only
                for key in ("suspect_collusive_raters", "careless_raters", "teamwork_peer_raters", "rated_carelessly"):
                    assert key not in page, (username, url, key)
    assert walked >= 90  # pages and exports fetched with a 200 across the roles

    # the API's results (a business system's token) carry no single rater either
    response = client.get(f"/api/v1/cycles/{world['cycle']}/results",
                          headers={"Authorization": f"Bearer {world['token']}"})
    assert response.status_code == 200
    forbidden = _forbidden(app, world, None)
    assert not (_numbers_in_json(json.loads(response.data)) & set(forbidden))


def test_the_walk_finds_what_the_rule_allows(app, client):
    """Positive controls: the figures the rule allows do show, so the walk above can fail."""
    world = _seed(app)
    ids = world["ids"]
    c = world["cycle"]
    r2_figures = _rater_figures(app, c, ids["R2"])
    supervisor_of_r2 = r2_figures[ids["A"]][1]
    # the ratee sees their single supervisor (the one exception)...
    _seen, pages = _walk(client, world, "r2")
    own = _numbers_in_html(pages[f"/reports/officers/{ids['R2']}?cycle={c}"])
    assert own & supervisor_of_r2
    # ...and nobody else does, not even the admin
    _seen, pages = _walk(client, world, "admin")
    distinctive = {v for v in supervisor_of_r2 - _pooled_figures(app, c, ids["R2"]) if not float(v).is_integer()}
    assert own & distinctive
    assert not (_numbers_in_html(pages[f"/reports/officers/{ids['R2']}?cycle={c}"]) & distinctive)
    # R1's lone peer's teamwork mean is not even stored: a figure nobody may see does not enter the
    # score, or the total less the figures shown beside it would give it away
    with app.app_context():
        result = db.session.get(ScoreResult, world["results"][ids["R1"]])
        team = [i for i in result.breakdown["indicators"] if i["code"] == "soft_teamwork"]
        assert all((i.get("details") or {}).get("teamwork_peer") is None for i in team)
        lone_peer = _rater_figures(app, c, ids["R1"])[ids["P1"]][1]
        assert not (_numbers_in_html(str(result.breakdown)) & lone_peer - _pooled_figures(app, c, ids["R1"]))
    for username in ("admin", "a", "r1"):
        _seen, pages = _walk(client, world, username)
        page = pages[f"/assessment/results/{world['results'][ids['R1']]}"]
        assert "评价人数不足，为保护匿名不显示" in page
        assert ("careless_raters" in page) == (username == "admin")
    # the station's mean of its officers' 360 scores rests on two officers: hidden, and said so
    with app.app_context():
        unit = db.session.get(ScoreResult, world["unit_result"])
        soft = next(i for i in unit.breakdown["indicators"] if i["code"] == "soft_360@unit")
        assert soft["details"]["officers"] == 2 and soft["raw"] is not None
    _seen, pages = _walk(client, world, "r1")
    page = pages[f"/assessment/results/{world['unit_result']}"]
    row = page.split("360 综合")[1].split("</tr>")[0]
    assert "评价人数不足，为保护匿名不显示" in row and "%.2f" % soft["raw"] not in row
    # two supervisors: R1 and the admin see their pooled mean; neither supervisor sees it
    with app.app_context():
        officer = db.session.get(Officer, ids["R1"])
        cycle = db.session.get(Cycle, c)
        from surveys.anonymity import RATEE, Viewer

        assert feedback.feedback_report(officer, cycle, RATEE).overall["supervisor"].shown
        assert feedback.feedback_report(officer, cycle, Viewer(sees_details=True)).overall["supervisor"].shown
        for leader in ("A", "B"):
            viewer = feedback.viewer_for(db.session.get(Officer, ids[leader]).user, ids["R1"], cycle)
            report = feedback.feedback_report(officer, cycle, viewer)
            assert viewer.rated_as == frozenset({"supervisor"})
            assert not report.overall["supervisor"].shown and not report.overall["others"].shown
