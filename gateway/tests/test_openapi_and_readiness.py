"""One OpenAPI document for the whole platform, and readiness of every service."""

from __future__ import annotations

from bibliomesh_gateway.openapi_merge import merge
from gateway.tests.gateway_fixtures import SERVICES, platform


async def test_the_merged_document_has_every_service_with_names_that_do_not_clash() -> None:
    async with platform() as gateway, gateway.client() as client:
        document = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")

        for name in SERVICES:
            operation = document["paths"][f"/{name}/things"]["get"]
            assert operation["operationId"] == f"{name}.list_things"
            assert operation["tags"] == [name]
            assert operation["security"] == [{f"{name}.HTTPBearer": []}]
            schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
            assert schema == {"$ref": f"#/components/schemas/{name}.Problem"}
            assert document["components"]["schemas"][f"{name}.Problem"]["title"] == f"{name} problem"
        assert "/healthz" in document["paths"]  # the gateway's own, not a service's
        assert document["x-unavailable-services"] == []
        assert docs.status_code == 200 and "/openapi.json" in docs.text


async def test_a_service_that_is_down_is_left_out_of_the_document_and_named() -> None:
    async with platform(openapi_cache_seconds=0) as gateway, gateway.client() as client:
        await gateway.servers["notify"].stop()
        document = (await client.get("/openapi.json")).json()

        assert "/notify/things" not in document["paths"]
        assert "/catalog/things" in document["paths"]
        assert document["x-unavailable-services"] == ["notify"]


async def test_readiness_names_each_service() -> None:
    async with platform() as gateway, gateway.client() as client:
        ready = await client.get("/readyz")
        await gateway.servers["catalog"].stop()
        unready = await client.get("/readyz")

        assert ready.status_code == 200
        assert ready.json()["status"] == "ready"
        assert ready.json()["services"] == dict.fromkeys(SERVICES, "ready")
        assert unready.status_code == 503
        assert unready.json()["services"]["catalog"] == "unreachable"
        assert unready.json()["services"]["auth"] == "ready"


async def test_a_service_waiting_for_its_event_bus_is_degraded_and_one_without_its_database_unready() -> None:
    async with platform() as gateway, gateway.client() as client:
        gateway.services["ill"].readiness = (200, {
            "status": "degraded", "checks": {"database": "ok", "bus": "unreachable: ConnectionError"}})
        degraded = await client.get("/readyz")
        gateway.services["notify"].readiness = (503, {
            "status": 503, "checks": {"database": "unreachable: OperationalError", "bus": "ok"}})
        unready = await client.get("/readyz")

        assert degraded.status_code == 200  # the front door stays open: the service still answers
        assert degraded.json()["status"] == "degraded"
        assert degraded.json()["services"]["ill"] == "degraded: bus"
        assert degraded.json()["services"]["catalog"] == "ready"
        assert unready.status_code == 503
        assert unready.json()["status"] == "unready"
        assert unready.json()["services"]["notify"] == "unready: database"


def test_discriminator_mappings_and_nested_references_are_renamed() -> None:
    service = {"paths": {"/ill/x": {"post": {"requestBody": {"content": {"application/json": {"schema": {
        "oneOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}],
        "discriminator": {"propertyName": "kind", "mapping": {"a": "#/components/schemas/A"}}}}}}}}},
        "components": {"schemas": {"A": {"properties": {"b": {"$ref": "#/components/schemas/B"}}}, "B": {}}}}

    merged = merge({"paths": {}}, {"ill": service})

    schema = merged["paths"]["/ill/x"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["oneOf"] == [{"$ref": "#/components/schemas/ill.A"}, {"$ref": "#/components/schemas/ill.B"}]
    assert schema["discriminator"]["mapping"] == {"a": "#/components/schemas/ill.A"}
    assert merged["components"]["schemas"]["ill.A"]["properties"]["b"] == {"$ref": "#/components/schemas/ill.B"}
