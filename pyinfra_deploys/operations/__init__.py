"""pyinfra operations for the February deploys."""
