"""Who may do what: API keys, dashboard accounts, read-only share links."""
