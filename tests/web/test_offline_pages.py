"""The staff's offline-session form of a class (no browser): what is not even a time or a
number shown next to its field (422), a refusal of the service next to the field it names, an
unknown class as the error page, and a session scheduled (and audited) on success."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import audit_log
from tests.web.staff_world import World, local_time, offline_form, sign_in


def test_staff_schedule_an_offline_session_through_the_form(
    client: TestClient, engine: Any
) -> None:
    w = World(engine)
    csrf = sign_in(client, w.staff.username)
    url = f"/staff/classes/{w.doing.class_id}/offline"
    page = client.get(url)
    assert page.status_code == 200 and 'id="offline-form"' in page.text

    # Not a time, not a number: the form again, each field with its rule, the values kept.
    bad = client.post(url, data=offline_form(w, csrf, starts_at="明天上午", capacity="很多"))
    assert bad.status_code == 422
    assert 'id="offline-starts_at" name="starts_at" value="明天上午"' in bad.text
    assert 'aria-describedby="offline-starts_at-err"' in bad.text
    assert 'aria-describedby="offline-capacity-err"' in bad.text and "之间的整数" in bad.text
    assert 'aria-describedby="offline-ends_at-err"' not in bad.text

    # Parseable, refused by the service: next to the field it names.
    backwards = client.post(url, data=offline_form(w, csrf, ends_at=local_time(30)))
    assert backwards.status_code == 422
    assert 'aria-describedby="offline-ends_at-err"' in backwards.text
    assert 'aria-describedby="offline-starts_at-err"' not in backwards.text

    # A class that is not there: the error page, not the form.
    gone = client.post(f"/staff/classes/{uuid.uuid4()}/offline", data=offline_form(w, csrf))
    assert gone.status_code == 404 and 'id="offline-form"' not in gone.text

    r = client.post(url, data=offline_form(w, csrf), follow_redirects=False)
    assert r.status_code == 303, r.text
    sid = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    assert r.headers["location"].startswith(f"/staff/offline/{sid}")
    assert [a for a, _ in audit_log(engine, subject=f"offline_session:{sid}")] == [
        "offline.session_scheduled"
    ]
    assert "照明线路安装实操" in client.get(url).text
