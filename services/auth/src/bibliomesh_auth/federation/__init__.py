"""Federated sign-in through an institution's own identity provider.

Today the upstream protocol is OpenID Connect (authorization code + PKCE, client_secret_basic); the pieces that
do not depend on the protocol (claim names, role rules, the mapped identity) are kept apart so SAML 2.0 can reuse
them.
"""
