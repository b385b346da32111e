"""pyinfra facts for the February deploys."""
