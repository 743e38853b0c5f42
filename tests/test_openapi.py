"""The OpenAPI document is valid 3.1 and describes the schemas that validate requests."""

from __future__ import annotations

from openapi_spec_validator import validate

from balise.web.api.schemas import LinkCreate


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
