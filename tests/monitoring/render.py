"""Writes a stack's rule file and Alertmanager configuration, for promtool and amtool by hand.

    .venv-dev/bin/python tests/monitoring/render.py dev /tmp/phoenix-dev
    promtool check rules /tmp/phoenix-dev/rules.yaml
    amtool check-config /tmp/phoenix-dev/alertmanager.yaml

The Alertmanager configuration carries placeholder credentials (never the stack's
secrets) and its receivers' integrations; `--no-integrations` drops them, for an
Alertmanager that routes and inhibits but notifies no one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from harness import stack_config  # noqa: E402

from components import alert_routing  # noqa: E402
from components.alert_rules import rule_file  # noqa: E402
from components.spec import PlatformSpec  # noqa: E402

PLACEHOLDERS = {
    alert_routing.SLACK_KEY: "https://hooks.slack.com/services/T00000000/B00000000/placeholder",
    alert_routing.PAGERDUTY_KEY: "placeholder-routing-key",
    alert_routing.SMTP_KEY: "placeholder-password",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stack", help="dev or prod (Pulumi.<stack>.yaml)")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--no-integrations", action="store_true")
    args = parser.parse_args()
    spec = PlatformSpec.model_validate(stack_config(args.stack))
    args.directory.mkdir(parents=True, exist_ok=True)
    (args.directory / "rules.yaml").write_text(yaml.safe_dump(rule_file(spec), sort_keys=False, width=1000))
    written = ["rules.yaml"]
    if spec.monitoring.alerting is not None:
        credentials = {
            key: next(value for suffix, value in PLACEHOLDERS.items() if key.endswith(suffix))
            for key in alert_routing.secret_entries(spec)
        }
        config = alert_routing.alertmanager_yaml(spec, credentials, integrations=not args.no_integrations)
        (args.directory / "alertmanager.yaml").write_text(yaml.safe_dump(config, sort_keys=False, width=1000))
        written.append("alertmanager.yaml")
    print(" ".join(str(args.directory / name) for name in written))


if __name__ == "__main__":
    main()
