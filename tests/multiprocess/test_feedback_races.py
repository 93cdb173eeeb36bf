"""Twenty simultaneous submits of one rating from several tabs, served by two processes: one wins,
the others are told and change nothing; the database holds one response and one answer per item."""
import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from app.extensions import db
from app.models import Answer, Assignment, Response

from ..web.feedback_helpers import assignment_id, build_world, items_of
from .conftest import Browser


def test_simultaneous_submits_of_one_rating_store_it_once(app, gunicorn):
    world = build_world(app, members=3)
    me = world.member_ids[0]
    target = assignment_id(app, me, me, "self")
    items = items_of(app, "self")
    tabs = [Browser(gunicorn).login("m0", "password123") for _ in range(4)]
    tokens = [tab.csrf(f"/feedback/a/{target}") for tab in tabs]

    def submit(i):
        tab = tabs[i % len(tabs)]
        data = {"csrf_token": tokens[i % len(tabs)], "revision": "0", "action": "submit",
                **{f"item_{item_id}": str(1 + i % 5) for item_id, _ in items}}
        return tab.request("POST", f"/feedback/a/{target}", data)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(submit, range(20)))
    winners = [status for status, _ in results if status in (302, 303)]
    assert len(winners) == 1, [status for status, _ in results]
    assert all("已在其他窗口保存或提交过" in html for status, html in results if status == 200)
    with app.app_context():
        assert db.session.get(Assignment, target).revision == 1
        assert db.session.scalar(sa.select(sa.func.count(Response.id)).filter_by(assignment_id=target)) == 1
        values = db.session.execute(sa.select(Answer.value).join(Response)
                                    .where(Response.assignment_id == target)).scalars().all()
        assert len(values) == len(items) and len(set(values)) == 1  # all from the one winning submit


def test_two_tabs_of_one_browser_submitting_together_leave_one_response(app, gunicorn):
    """One browser (one session cookie) with the rating open in two tabs; both submit at once with
    different answers. One response is stored, all of its answers from the same tab."""
    world = build_world(app, members=3)
    me = world.member_ids[0]
    target = assignment_id(app, me, me, "self")
    items = items_of(app, "self")
    browser = Browser(gunicorn).login("m0", "password123")
    tab_tokens = [browser.csrf(f"/feedback/a/{target}") for _ in range(2)]  # the page opened twice
    start = threading.Barrier(2)

    def submit(tab):
        data = {"csrf_token": tab_tokens[tab], "revision": "0", "action": "submit",
                **{f"item_{item_id}": str(2 + 2 * tab) for item_id, _ in items}}  # tab 0 says 2, tab 1 says 4
        start.wait(timeout=30)
        return browser.request("POST", f"/feedback/a/{target}", data)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(submit, range(2)))
    statuses = sorted(status for status, _ in results)
    assert statuses[0] == 200 and statuses[1] in (302, 303), statuses
    assert "已在其他窗口保存或提交过" in next(html for status, html in results if status == 200)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Response.id)).filter_by(assignment_id=target)) == 1
        values = db.session.execute(sa.select(Answer.value).join(Response)
                                    .where(Response.assignment_id == target)).scalars().all()
        assert len(values) == len(items) and len(set(values)) == 1 and values[0] in (2, 4)
