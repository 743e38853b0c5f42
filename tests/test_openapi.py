"""The OpenAPI document is valid 3.1, describes the schemas that validate requests, and
documents every status and media type each operation answers (issue 11, finding 17)."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from balise.web.api.schemas import LinkCreate

PROBLEM = "application/problem+json"


def test_openapi_document_validates_as_3_1(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_openapi_describes_the_links_endpoints_with_the_validating_schema(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    create = doc["paths"]["/api/v1/links"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert schema["required"] == ["url"]
    assert set(schema["properties"]) == set(LinkCreate.model_json_schema()["properties"])
    assert {"201", "409", "422", "401"} <= set(create["responses"])
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def operations(doc):
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def test_every_error_is_documented_as_problem_json_and_never_as_json(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for method, path, operation in operations(doc):
        for status, answer in operation["responses"].items():
            if int(status) >= 400:
                assert set(answer["content"]) == {PROBLEM}, (method, path, status)
                ref = answer["content"][PROBLEM]["schema"]["$ref"]
                assert ref == "#/components/schemas/ProblemOut"
    assert "ValidationError" not in doc["components"]["schemas"]  # spectree's own 422 shape


def test_what_the_blueprint_answers_for_every_operation_is_documented(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for method, path, operation in operations(doc):
        statuses = set(operation["responses"])
        assert {"429", "500", "503"} <= statuses, (method, path)
        if "security" in operation:
            assert "401" in statuses, (method, path)
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
        if method in ("post", "put", "patch"):
            assert {"400", "413", "415", "422"} <= statuses, (method, path)
        if "{" in path:
            assert "404" in statuses, (method, path)
    links = doc["paths"]["/api/v1/links"]
    assert "400" in links["get"]["responses"]  # a cursor this server did not hand out
    assert "403" not in links["get"]["responses"]  # every key may read
    assert "403" in links["post"]["responses"]
    assert "422" not in doc["paths"]["/api/v1/links/{slug}"]["get"]["responses"]  # no input
    public = doc["paths"]["/api/v1/summaries"]["get"]
    assert "security" not in public and "401" not in public["responses"]
    assert "304" in public["responses"]


def test_the_csv_export_is_documented_as_text_csv(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    ok = doc["paths"]["/api/v1/links/{slug}/clicks.csv"]["get"]["responses"]["200"]
    assert set(ok["content"]) == {"text/csv"}


def test_a_body_is_required_only_where_a_field_is(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["paths"]["/api/v1/links"]["post"]["requestBody"]["required"] is True
    # PATCH without a body changes nothing, like {}.
    assert doc["paths"]["/api/v1/links/{slug}"]["patch"]["requestBody"]["required"] is False


def test_bounds_are_declared_in_the_document(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]

    def first(prop):
        return prop["anyOf"][0] if "anyOf" in prop else prop

    link = schemas["LinkCreate"]["properties"]
    assert first(link["max_clicks"])["maximum"] == 2**31 - 1
    assert "2000" in first(link["expires_at"])["description"]
    assert "\\u0000" in first(link["title"])["pattern"]
    assert "\\u0000" in first(link["tags"])["items"]["pattern"]
    assert schemas["RestoreIn"]["properties"]["version"]["maximum"] == 2**31 - 1
    assert "\\u0000" in schemas["SummaryIn"]["properties"]["teaser"]["pattern"]


# Requests that reach each kind of answer the blueprint gives, with the operation they call.
ERROR_WALK = [
    ("post", "/api/v1/links", "/api/v1/links", {"data": "{", "content_type": "application/json"}),
    ("post", "/api/v1/links", "/api/v1/links", {"data": "x", "content_type": "text/plain"}),
    ("post", "/api/v1/links", "/api/v1/links", {"json": {"url": "https://a.example", "z": 1}}),
    ("post", "/api/v1/links", "/api/v1/links", {"json": {"url": "x" * 2_000_000}}),
    ("get", "/api/v1/links", "/api/v1/links?cursor=forged", {}),
    ("get", "/api/v1/links", "/api/v1/links?limit=0", {}),
    ("get", "/api/v1/links/{slug}", "/api/v1/links/absent", {}),
    ("patch", "/api/v1/links/{slug}", "/api/v1/links/absent", {"json": {}}),
    ("get", "/api/v1/links/{slug}/stats", "/api/v1/links/absent/stats?tz=Europe", {}),
    ("get", "/api/v1/stats", "/api/v1/stats?tz=Europe", {}),
    ("get", "/api/v1/links/{slug}/clicks.csv", "/api/v1/links/absent/clicks.csv", {}),
    ("post", "/api/v1/keys", "/api/v1/keys", {"json": {"name": ""}}),
    ("delete", "/api/v1/keys/{name}", "/api/v1/keys/absent", {}),
    ("get", "/api/v1/summaries", "/api/v1/summaries", {}),
    ("get", "/api/v1/summaries", "/api/v1/summaries?url=https://nowhere.example/", {}),
    ("post", "/api/v1/summaries/lookup", "/api/v1/summaries/lookup", {"json": {"urls": 1}}),
    ("post", "/api/v1/links/{slug}/summary/restore", "/api/v1/links/a/summary/restore", {}),
]


@pytest.mark.parametrize(("method", "template", "url", "kwargs"), ERROR_WALK)
def test_each_error_answered_is_documented_with_its_status_and_media_type(
    client, admin_headers, viewer_headers, method, template, url, kwargs
):
    doc = client.get("/api/v1/openapi.json").get_json()
    for headers in (admin_headers, viewer_headers, {}):
        r = getattr(client, method)(url, headers=headers, **kwargs)
        assert r.status_code >= 400
        answers = doc["paths"][template][method]["responses"]
        assert str(r.status_code) in answers, (url, r.status_code)
        assert r.mimetype in answers[str(r.status_code)]["content"], (url, r.mimetype)
