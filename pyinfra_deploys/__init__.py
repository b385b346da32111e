"""pyinfra deploys for the February mail host: one ``@deploy`` per role."""
