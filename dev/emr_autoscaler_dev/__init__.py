"""Development tools outside the Lambda layer: the sandbox, the simulator, the demo and the `emr-autoscaler` CLI."""
