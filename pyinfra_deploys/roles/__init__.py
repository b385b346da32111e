"""One module per concern, one ``@deploy`` each; ``deploy.py`` runs them in order."""
