"""Prometheus from Debian's package, scraping every Ray node's metrics export port.

Ray's head writes the live nodes' metrics addresses to ``prom_metrics_service_discovery.json``
in its temp dir (``/tmp/ray`` unless ``RAY_TMPDIR``; a link to the current session's file), so
a node that joins or leaves -- ``fitray stack up ray-worker`` -- is scraped without a restart.
Ray lists nodes under the host's interface address; every node of the local stack is on this
machine, so targets are rewritten to loopback (nothing is scraped off-host). The head asks
this server for the dashboard's Metrics tab (``RAY_PROMETHEUS_HOST``, see
:mod:`fitray.stack.ray`). Its state lives in ``.stack/data/prometheus``, kept for two days.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path

from fitray.stack.base import Service
from fitray.stack.exceptions import StackError
from fitray.stack.process import require_tool

__all__ = ["PrometheusService", "prometheus_config", "ray_service_discovery_file"]

SCRAPE_INTERVAL_S = 5
RETENTION = "2d"


def ray_service_discovery_file() -> Path:
    """Where Ray's head keeps the scrape targets of every live node."""
    from ray._common.utils import get_default_ray_temp_dir  # the rule Ray itself uses

    return Path(get_default_ray_temp_dir()) / "prom_metrics_service_discovery.json"


def prometheus_config(discovery_file: Path) -> str:
    """prometheus.yml: Ray's nodes from the discovery file, each scraped on loopback."""
    return f"""# written by `fitray stack up prometheus`; edits are overwritten
global:
  scrape_interval: {SCRAPE_INTERVAL_S}s
  evaluation_interval: {SCRAPE_INTERVAL_S}s
scrape_configs:
  - job_name: ray
    file_sd_configs:
      - files: ['{discovery_file}']
    relabel_configs:
      - source_labels: [__address__]
        regex: '.+:(\\d+)'
        target_label: __address__
        replacement: '127.0.0.1:$1'
"""


class PrometheusService(Service):
    name = "prometheus"
    startup_timeout_s = 60.0
    port_setting = "FITRAY_PROMETHEUS_PORT"

    @property
    def ports(self) -> list[int]:
        return [self.settings.prometheus_port]

    @property
    def where(self) -> str:
        return f"http://127.0.0.1:{self.settings.prometheus_port} (scrapes every Ray node)"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "prometheus.yml"

    def install(self) -> None:
        require_tool(
            "prometheus",
            "install Debian's package: `apt-get install prometheus` "
            "(bash deploy/local/install-system-deps.sh does it)",
        )

    def start(self) -> None:
        binary = require_tool("prometheus", "apt-get install prometheus")
        (self.data_dir / "tsdb").mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(prometheus_config(ray_service_discovery_file()))
        self.files.spawn(
            [
                binary,
                f"--config.file={self.config_path}",
                f"--storage.tsdb.path={self.data_dir / 'tsdb'}",
                f"--storage.tsdb.retention.time={RETENTION}",
                f"--web.listen-address=127.0.0.1:{self.settings.prometheus_port}",
            ]
        )

    def check(self) -> str:
        """The query Ray's dashboard uses as its health check, then the scrape targets."""
        answer = self.query("vector(1)")
        if answer.get("status") != "success":
            raise StackError(f"Prometheus answered {answer.get('status')!r} to vector(1)")
        up = self.query('up{job="ray"}').get("data", {}).get("result", [])
        healthy = sum(1 for series in up if series.get("value", [0, "0"])[1] == "1")
        return f"query ok, {healthy}/{len(up)} Ray metrics targets up"

    def query(self, promql: str, timeout_s: float = 3.0) -> dict:
        url = (
            f"http://127.0.0.1:{self.settings.prometheus_port}/api/v1/query?"
            + urllib.parse.urlencode({"query": promql})
        )
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                return dict(json.load(response))
        except (OSError, ValueError) as exc:
            raise StackError(f"Prometheus at {url} not reachable: {exc}") from None
