"""Admins manage API keys through the API; the secret is shown once and only its hash kept."""

from __future__ import annotations


def test_admin_creates_lists_and_revokes_keys(client, admin_headers):
    r = client.post(
        "/api/v1/keys", json={"name": "zapier", "role": "viewer"}, headers=admin_headers
    )
    assert r.status_code == 201
    created = r.get_json()
    assert created["key"].startswith(created["prefix"])
    new_key = {"Authorization": f"Bearer {created['key']}"}
    assert client.get("/api/v1/links", headers=new_key).status_code == 200
    listing = client.get("/api/v1/keys", headers=admin_headers).get_json()["items"]
    assert "zapier" in [k["name"] for k in listing]
    assert all("key" not in k for k in listing)
    r = client.delete("/api/v1/keys/zapier", headers=admin_headers)
    assert r.status_code == 200 and r.get_json()["revoked_at"]
    assert client.get("/api/v1/links", headers=new_key).status_code == 401


def test_editors_cannot_manage_keys(client, editor_headers):
    assert client.get("/api/v1/keys", headers=editor_headers).status_code == 403
    r = client.post("/api/v1/keys", json={"name": "x"}, headers=editor_headers)
    assert r.status_code == 403


def test_duplicate_name_is_409_and_unknown_revoke_is_404(client, admin_headers):
    assert client.post("/api/v1/keys", json={"name": "a"}, headers=admin_headers).status_code == 201
    assert client.post("/api/v1/keys", json={"name": "a"}, headers=admin_headers).status_code == 409
    assert client.delete("/api/v1/keys/nobody", headers=admin_headers).status_code == 404
