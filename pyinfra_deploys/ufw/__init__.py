"""UFW, as far as the firewall role needs it: one rule model, one fact read from ufw's files, three operations.

- ``rule.UfwRule``: an inbound rule, parsed from and written as ufw stores it;
- ``facts.UfwState``: enabled, default policies and rules, without ``ufw status``;
- ``operations``: ``default_policy``, ``rules``, ``enabled`` (in that order).
"""
