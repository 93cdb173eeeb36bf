"""The JSON API (/api/v1) for business systems: token-authenticated, CSRF-exempt."""
