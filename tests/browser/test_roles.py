"""The Roles page in the browser: pick a group, create a role, edit it, refuse a duplicate code."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from karatlever.accounts.models import Group, User
from karatlever.hiring.models import Role
from tests.browser.conftest import LoginFunc, login_as
from tests.factories import RoleFactory

pytestmark = pytest.mark.browser


def test_admin_creates_and_edits_a_role(
    page: Page, login: LoginFunc, admin_user: User, group: Group, second_group: Group
) -> None:
    RoleFactory(group=group, title="Existing", requisition_code="ENG-1")
    login(admin_user)

    # given: the Engineering group chosen on the Roles page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Roles").click()
    page.get_by_label("Group").select_option(label="Engineering")
    expect(page.get_by_role("cell", name="Existing", exact=True)).to_be_visible()

    # when: a role is created
    page.get_by_role("link", name="New role").click()
    expect(page.get_by_text("Group: Engineering")).to_be_visible()
    page.get_by_label("Title").fill("Mobile Engineer")
    page.get_by_label("Requisition code").fill("MOB-9")
    page.get_by_role("button", name="Create role").click()

    # then: it is listed in that group
    expect(page.get_by_role("status")).to_contain_text("Role “Mobile Engineer” created.")
    row = page.locator("tr", has_text="Mobile Engineer")
    expect(row).to_contain_text("MOB-9")
    expect(row).to_contain_text("Active")
    assert Role.objects.get(requisition_code="MOB-9").group == group

    # when: a duplicate requisition code is tried on edit, the form says so
    row.get_by_role("link", name="Edit").click()
    page.get_by_label("Requisition code").fill("ENG-1")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("already uses this requisition code")).to_be_visible()

    # when: a valid edit deactivates it
    page.get_by_label("Title").fill("Senior Mobile Engineer")
    page.get_by_label("Requisition code").fill("MOB-10")
    page.get_by_label("Active").uncheck()
    page.get_by_role("button", name="Save", exact=True).click()

    # then
    row = page.locator("tr", has_text="Senior Mobile Engineer")
    expect(row).to_contain_text("MOB-10")
    expect(row).to_contain_text("Inactive")
    row.get_by_role("button", name="Reactivate").click()
    expect(page.locator("tr", has_text="Senior Mobile Engineer")).to_contain_text("Active")
    role = Role.objects.get(title="Senior Mobile Engineer")
    assert (role.requisition_code, role.active) == ("MOB-10", True)


def test_recruiter_sees_roles_but_gets_a_403_page_on_edit(
    page: Page, recruiter_user: User, group: Group
) -> None:
    role = RoleFactory(group=group, title="Backend", requisition_code="B-1")
    login_as(page, recruiter_user)

    page.goto("/roles/")
    expect(page.get_by_role("cell", name="Backend", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="New role")).to_have_count(0)

    response = page.goto(f"/roles/{role.code}/edit/")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", name=re.compile("have access to this page"))).to_be_visible()
    expect(page.get_by_text("Only organization admins can edit roles.")).to_be_visible()
