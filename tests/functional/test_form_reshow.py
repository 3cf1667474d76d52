"""Every form with server-side validation keeps what was typed when it comes back with an error.

The output-request form once lost the chosen project after an error, so the resubmission went to
another project. This test does not trust a list of fields: it reads each form from its page,
fills every field (the last option of each list, text for each text field, every checkbox),
makes the post invalid in one way the server checks, and asserts that every submitted value is
in the re-shown form: text, the chosen option, the chosen radio, the ticked boxes. Never echoed:
CSRF tokens, passwords, one-time codes, files (``phta.web.forms``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx
import pytest

from phta.governance import airlock, airlock_review
from phta.store import open_database
from phta.web.forms import NEVER_ECHOED
from tests.airlock_support import SMALL_CELL_CSV, approved_project, principal, submit
from tests.governance_support import make_user, sign_in


@dataclass
class Form:
    action: str
    multipart: bool
    text: dict[str, str] = field(default_factory=dict)  # text inputs and textareas
    options: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)  # selects: (value, selected)
    radios: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)
    boxes: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)
    hidden: dict[str, str] = field(default_factory=dict)
    buttons: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    numbers: set[str] = field(default_factory=set)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), "multipart" in (a.get("enctype") or "")))
            return
        if not self.forms or not a.get("name"):
            return
        form, name = self.forms[-1], a["name"]
        kind = (a.get("type") or "text").lower()
        if tag == "textarea":
            self._textarea = name
            form.text[name] = ""
        elif tag == "select":
            self._select = name
            form.options[name] = []
        elif tag == "button":
            form.buttons.setdefault(name, a.get("value", ""))
        elif tag == "input" and kind == "hidden":
            form.hidden[name] = a.get("value", "")
        elif tag == "input" and kind == "file":
            form.files.append(name)
        elif tag == "input" and kind == "radio":
            form.radios.setdefault(name, []).append((a.get("value", "on"), "checked" in a))
        elif tag == "input" and kind == "checkbox":
            form.boxes.setdefault(name, []).append((a.get("value", "on"), "checked" in a))
        elif tag == "input" and kind not in ("submit", "button"):
            form.text[name] = a.get("value", "")
            if kind == "number":
                form.numbers.add(name)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1].text[self._textarea] += data


class _WithOptions(_Forms):
    def handle_starttag(self, tag, attrs):
        if tag == "option" and self._select and self.forms:  # an option belongs to the open <select>
            a = dict(attrs)
            self.forms[-1].options[self._select].append((a.get("value", ""), "selected" in a))
            return
        super().handle_starttag(tag, attrs)


def form_on(html: str, action: str) -> Form:
    parser = _WithOptions()
    parser.feed(html)
    matches = [f for f in parser.forms if f.action == action]
    assert matches, f"no form posting to {action}"
    return matches[0]


def fill(form: Form, overrides: dict) -> dict[str, str | list[str]]:
    """A value for every field: a marked text, the last real option, the last radio, all boxes."""
    data: dict[str, str | list[str]] = dict(form.hidden)
    for name in form.text:
        data[name] = "7" if name in form.numbers else f"kept {name} value"
    for name, options in form.options.items():
        real = [v for v, _ in options if v]
        data[name] = real[-1] if real else ""
    for name, radios in form.radios.items():
        data[name] = radios[-1][0]
    for name, boxes in form.boxes.items():
        values = [v for v, _ in boxes]
        data[name] = values if len(values) > 1 else values[0]
    if form.buttons:
        name, value = next(iter(form.buttons.items()))
        data[name] = value
    data.update(overrides)
    return data


def post(client: httpx.Client, form: Form, data: dict) -> httpx.Response:
    if form.multipart:
        return client.post(form.action, data=data, files=[(name, ("", b"")) for name in form.files] or
                           [("_none", ("", b""))])
    return client.post(form.action, data=data)


def assert_reshown(before: dict, after: Form) -> None:
    for name, value in before.items():
        if name in NEVER_ECHOED or name in after.buttons or name.startswith("_"):
            continue
        if name in after.text:
            assert after.text[name].strip() == str(value).strip(), name
        elif name in after.options:
            assert [v for v, selected in after.options[name] if selected] == [value], name
        elif name in after.radios:
            assert [v for v, checked in after.radios[name] if checked] == [value], name
        elif name in after.boxes:
            wanted = value if isinstance(value, list) else [value]
            assert [v for v, checked in after.boxes[name] if checked] == wanted, name
        elif name in after.hidden:
            continue  # a hidden field is the page's own, not something typed
        else:
            pytest.fail(f"{name} is not in the re-shown form")


@dataclass(frozen=True)
class Case:
    page: str
    action: str
    overrides: dict


@contextmanager
def _client(live_server, email) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url) as client:
        assert sign_in(client, email).status_code == 303
        yield client


Setup = Callable[..., tuple[str, Case]]


def outputs_new(live_server, settings):
    researcher = make_user(settings, "researcher", organisation="University of Birmingham")
    approved_project(settings, researcher, "First project")
    approved_project(settings, researcher, "Second project")  # the last option: a project that is not the first
    return researcher, Case("/outputs/new", "/outputs/new", {})  # no file attached: refused


def _returned_request(live_server, settings):
    researcher = make_user(settings, "researcher", organisation="University of Birmingham")
    c1 = make_user(settings, "output_checker", email="c1@hub.example", organisation="PHTA Hub")
    c2 = make_user(settings, "output_checker", email="c2@other.example", organisation="Keele")
    pid = approved_project(settings, researcher)
    with _client(live_server, researcher) as r:
        rid = submit(r, pid, [("table.csv", SMALL_CELL_CSV, "Counts")]).json()["id"]
    db = open_database(settings)
    return researcher, rid, db, [principal(settings, c) for c in (c1, c2)], (c1, c2)


def outputs_resubmit(live_server, settings):
    researcher, rid, db, (p1, p2), _ = _returned_request(live_server, settings)
    for checker in (p1, p2):
        airlock_review.record_check(db, checker, rid, "return", "Merge the bands")
    return researcher, Case(f"/outputs/{rid}", f"/outputs/{rid}/resubmit", {})


def checking(live_server, settings):
    _researcher, rid, _db, _p, (c1, _c2) = _returned_request(live_server, settings)
    return c1, Case(f"/checking/{rid}", f"/checking/{rid}", {"decision": "approve"})  # a failing file as it is


def signoff(live_server, settings):
    researcher = make_user(settings, "researcher", organisation="University of Birmingham")
    db = open_database(settings)
    airlock.set_node_setting(db, "uhb", custodian_signoff=True, custodian_organisation="UHB", actor="test")
    custodian = make_user(settings, "data_custodian", email="cara@uhb.example", organisation="UHB")
    checkers = [principal(settings, make_user(settings, "output_checker", email=f"c{i}@x{i}.example")) for i in (1, 2)]
    pid = approved_project(settings, researcher)
    with _client(live_server, researcher) as r:
        rid = submit(r, pid, [("table.csv", SMALL_CELL_CSV, "Counts")]).json()["id"]
    for checker in checkers:
        airlock_review.record_check(db, checker, rid, "approve_protected")
    return custodian, Case(f"/signoff/{rid}", f"/signoff/{rid}", {"decision": "reject", "comment": ""})


def project_new(live_server, settings):
    researcher = make_user(settings, "researcher", organisation="University of Birmingham")
    return researcher, Case("/projects/new", "/projects/new", {"title": ""})


def coapplicant(live_server, settings):
    researcher = make_user(settings, "researcher", organisation="University of Birmingham")
    from phta.governance import projects
    from tests.governance_support import complete_request
    pid = projects.create_draft(open_database(settings), principal(settings, researcher), complete_request())
    return researcher, Case(f"/projects/{pid}", f"/projects/{pid}/coapplicants", {"email": "not-an-address"})


def committee_review(live_server, settings):
    researcher = make_user(settings, "researcher", organisation="University of Birmingham")
    member = make_user(settings, "committee_member", email="m@hub.example", organisation="PHTA Hub")
    from phta.governance import projects
    from tests.governance_support import complete_request
    db = open_database(settings)
    applicant = principal(settings, researcher)
    pid = projects.create_draft(db, applicant, complete_request())
    projects.save(db, applicant, pid, complete_request(), submit=True)
    return member, Case(f"/review/{pid}", f"/review/{pid}", {"decision": "approve_with_conditions", "conditions": ""})


def account_tokens(live_server, settings):
    researcher = make_user(settings, "researcher", organisation="University of Birmingham")
    return researcher, Case("/account", "/account/tokens", {"days": "a fortnight"})


def feasibility(live_server, settings):
    researcher = make_user(settings, "researcher", organisation="University of Birmingham")
    return researcher, Case("/feasibility", "/feasibility", {"age_min": "fifty"})


def atlas(live_server, settings):
    researcher = make_user(settings, "researcher", organisation="University of Birmingham")
    return researcher, Case("/feasibility/atlas", "/feasibility/atlas", {"definition": '{"not": "a cohort"'})


SETUPS = [outputs_new, outputs_resubmit, checking, signoff, project_new, coapplicant, committee_review,
          account_tokens, feasibility, atlas]


@pytest.mark.parametrize("setup", SETUPS, ids=[s.__name__ for s in SETUPS])
def test_an_invalid_post_reshows_every_submitted_value(live_server, settings, setup):
    email, case = setup(live_server, settings)
    with _client(live_server, email) as client:
        page = client.get(case.page)
        assert page.status_code == 200, page.text[:300]
        data = fill(form_on(page.text, case.action), case.overrides)
        response = post(client, form_on(page.text, case.action), data)
        assert response.status_code == 400, (response.status_code, response.text[:500])
        assert_reshown(data, form_on(response.text, case.action))


def test_the_sign_in_form_keeps_the_address_but_never_the_password(live_server, settings):
    """Control for what is never echoed."""
    make_user(settings, "researcher", email="ravi@uni.example")
    with httpx.Client(base_url=live_server.url) as client:
        form = form_on(client.get("/sign-in").text, "/sign-in")
        data = fill(form, {"email": "ravi@uni.example", "password": "wrong password"})
        response = post(client, form, data)
        assert response.status_code == 400
        assert "wrong password" not in response.text
        assert form_on(response.text, "/sign-in").text["email"] == "ravi@uni.example"
