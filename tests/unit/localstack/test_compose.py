"""localstack/docker-compose.yml checked as data, since no Docker engine runs here: pinned images, LocalStack's
token-free tag, loopback-only ports, healthchecks, and the names and ports deploy.py points the functions at."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import deploy
import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
COMPOSE = REPO / "localstack" / "docker-compose.yml"
DOCS = REPO / "docs" / "localstack.md"
# The last LocalStack release that starts without LOCALSTACK_AUTH_TOKEN (4.15 and 2026.03.0 on need one).
TOKEN_FREE_LOCALSTACK = "localstack/localstack:4.14.0"
AUTH_SETTINGS = {
    "LOCALSTACK_AUTH_TOKEN",
    "LOCALSTACK_API_KEY",
    "ACTIVATE_PRO",
    "LOCALSTACK_ACKNOWLEDGE_ACCOUNT_REQUIREMENT",
}
CONCRETE_TAG = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+(-[a-z0-9.]+)?")  # e.g. 7.4.2, 3.9.0, 2.19.1


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, whichever of compose's two forms (mapping or KEY=VALUE list) it uses."""
    raw = service.get("environment") or {}
    pairs = raw.items() if isinstance(raw, dict) else (item.split("=", 1) for item in raw)
    return {str(key): str(value) for key, value in pairs}


def published(service: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(host address, host port, container port) of every published port, short or long syntax."""
    result = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            result.append((port.get("host_ip", ""), int(port["published"]), int(port["target"])))
        else:
            parts = str(port).split(":")
            host_ip = parts[0] if len(parts) == 3 else ""
            result.append((host_ip, int(parts[-2]) if len(parts) > 1 else 0, int(parts[-1].split("/")[0])))
    return result


def test_the_stack_is_localstack_redis_kafka_and_opensearch(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {"localstack", "redis", "kafka", "opensearch"}


def test_every_image_is_pinned_to_a_concrete_version(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        image, _, tag = service["image"].rpartition(":")
        assert image and CONCRETE_TAG.fullmatch(tag), f"{name}: {service['image']} is not pinned to a version"


def test_localstack_is_the_documented_tag_that_runs_without_a_token(services: dict[str, dict[str, Any]]) -> None:
    assert services["localstack"]["image"] == TOKEN_FREE_LOCALSTACK
    assert TOKEN_FREE_LOCALSTACK in DOCS.read_text(encoding="utf-8")


def test_no_auth_token_is_required_or_configured(services: dict[str, dict[str, Any]]) -> None:
    interpolated = set(re.findall(r"\$\{?([A-Z_]+)", COMPOSE.read_text(encoding="utf-8")))
    assert not interpolated.intersection(AUTH_SETTINGS), "the file takes a token from the shell"
    for name, service in services.items():
        assert not set(environment(service)).intersection(AUTH_SETTINGS)
        assert "env_file" not in service, f"{name} reads an env file, which could carry a token"


def test_every_published_port_is_bound_to_loopback_only(services: dict[str, dict[str, Any]]) -> None:
    ports = [(name, port) for name, service in services.items() for port in published(service)]
    assert ports, "nothing is published: the host tools could not reach the services"
    for name, (host_ip, host_port, _) in ports:
        assert host_ip == "127.0.0.1" and host_port, f"{name} publishes {host_port} beyond 127.0.0.1"


def test_every_service_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck for `up --wait`"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}


def test_lambda_containers_join_the_network_of_the_services(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    (key, network), *others = compose["networks"].items()
    assert not others
    assert environment(services["localstack"])["LAMBDA_DOCKER_NETWORK"] == network["name"]
    for name, service in services.items():
        assert service["networks"] == [key], f"{name} is not on the network the Lambda containers join"


def test_localstack_can_find_itself_and_start_lambda_containers(services: dict[str, dict[str, Any]]) -> None:
    localstack = services["localstack"]
    assert environment(localstack)["MAIN_CONTAINER_NAME"] == localstack["container_name"]
    assert "/var/run/docker.sock:/var/run/docker.sock" in localstack["volumes"]


def test_localstack_runs_what_deploy_uses(services: dict[str, dict[str, Any]]) -> None:
    running = set(environment(services["localstack"])["SERVICES"].split(","))
    assert {"lambda", "sns", "sqs", "iam", "logs", "sts", "s3"} <= running


@pytest.mark.parametrize("service", ["redis", "opensearch"])
def test_the_functions_reach_redis_and_opensearch_by_service_name(
    services: dict[str, dict[str, Any]], service: str
) -> None:
    address = urlsplit(deploy.SERVICES[service])
    assert address.hostname in services
    assert address.hostname == service
    assert address.port in {container_port for _, _, container_port in published(services[service])}


def test_the_functions_reach_kafka_on_its_docker_listener(services: dict[str, dict[str, Any]]) -> None:
    kafka = environment(services["kafka"])
    advertised = dict(item.split("://") for item in kafka["KAFKA_ADVERTISED_LISTENERS"].split(","))
    listeners = dict(item.split("://") for item in kafka["KAFKA_LISTENERS"].split(","))
    name = next(name for name, address in advertised.items() if address == deploy.SERVICES["kafka"])
    host, port = deploy.SERVICES["kafka"].split(":")
    assert host in services
    assert listeners[name] == f":{port}"


def test_the_host_tools_reach_kafka_on_its_host_listener(services: dict[str, dict[str, Any]]) -> None:
    kafka = environment(services["kafka"])
    advertised = dict(item.split("://") for item in kafka["KAFKA_ADVERTISED_LISTENERS"].split(","))
    host, port = deploy.HOST_BOOTSTRAP_SERVERS.split(":")
    assert deploy.HOST_BOOTSTRAP_SERVERS in advertised.values()
    # A client connects to the advertised address, so the host port must equal the advertised one.
    assert (host, int(port), int(port)) in published(services["kafka"])


def test_opensearch_needs_no_credentials(services: dict[str, dict[str, Any]]) -> None:
    assert environment(services["opensearch"])["DISABLE_SECURITY_PLUGIN"] == "true"
    assert deploy.function_environment("arn")["OPENSEARCH_AUTH"] == "none"
