"""Every staff route (found by walking the router) refuses visitors and residents with 403."""
import re

import pytest
from starlette.routing import Mount, Route


def staff_routes(app):
    found = []

    def walk(routes, prefix=""):
        for route in routes:
            if isinstance(route, Mount):
                walk(route.routes, prefix + route.path)
            elif isinstance(route, Route) and getattr(route.endpoint, "required_roles", None):
                path = prefix + route.path
                path = re.sub(r"\{[^}:]+:int\}", "1", path)
                path = re.sub(r"\{[^}]+\}", "x", path)
                for method in sorted(route.methods or {"GET"}):
                    if method != "HEAD":
                        found.append((method, path, route.endpoint.required_roles))

    walk(app.routes)
    return found


def test_there_are_staff_routes_to_check(app):
    assert len(staff_routes(app)) >= 1


def test_every_staff_route_refuses_visitors_and_residents(client, make_client, app, helpers):
    routes = staff_routes(app)
    resident = make_client()
    helpers.sign_in(resident, app, "resident@example.org")
    failures = []
    for method, path, _roles in routes:
        for who, c in (("visitor", client), ("resident", resident)):
            response = c.request(method, path, data={} if method == "POST" else None)
            if response.status_code != 403:
                failures.append(f"{who} {method} {path} -> {response.status_code}")
    assert not failures, failures


@pytest.mark.parametrize("role", ["official", "moderator"])
def test_staff_of_another_role_are_refused_where_they_do_not_belong(make_client, app, helpers, role):
    c = make_client()
    helpers.sign_in(c, app, f"{role}@example.org", role=role, department="transport")
    failures = []
    for method, path, roles in staff_routes(app):
        if role in roles:
            continue
        response = c.request(method, path, data={} if method == "POST" else None)
        if response.status_code != 403:
            failures.append(f"{role} {method} {path} -> {response.status_code}")
    assert not failures, failures


def test_admin_passes_every_role_check(make_client, app, helpers):
    c = make_client()
    helpers.sign_in(c, app, "admin@example.org", role="admin")
    for method, path, _roles in staff_routes(app):
        if method == "GET":
            assert c.get(path).status_code != 403, path
