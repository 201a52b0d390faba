"""Local stand-ins for what the autoscaler talks to: AWS (moto server) and the YARN ResourceManager."""
