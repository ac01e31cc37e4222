// Package providertest verifies jwtkit against real OAuth 2.0 / OpenID
// Connect software: access tokens issued by the zitadel/oidc example
// OpenID provider, verified with a key set discovered from its issuer URL,
// and the authorization server's OpenAPI security schemes, validated with
// kin-openapi. It is a module of its own so that jwtkit's users never
// download these test-only dependencies; .ci/run runs its tests.
package providertest
