"""A live dashboard page that needs nothing but Python: served by the reporter at `/dashboard/`.

The page (`static/`: one HTML file, plain JavaScript modules, uPlot for the time series) reads
the reports from `/reports/*` and the live panels from `/dashboard/api/live`, where the serving
process gathers the services' `/metrics` and `/health/ready` (`DASHBOARD_SERVICES`).
"""

from funnel.dashboard.live import LiveSnapshot, LiveSource, Sample, ServiceState, parse_samples
from funnel.dashboard.routes import PATH, install_dashboard
from funnel.dashboard.settings import SERVICES_VARIABLE, DashboardSettings, services_environment

__all__ = [
    "PATH",
    "SERVICES_VARIABLE",
    "DashboardSettings",
    "LiveSnapshot",
    "LiveSource",
    "Sample",
    "ServiceState",
    "install_dashboard",
    "parse_samples",
    "services_environment",
]
