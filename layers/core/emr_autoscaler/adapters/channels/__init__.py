"""Channel adapters: deliver a rendered notice to Slack, Teams, a signed webhook or an SNS topic."""
