// Package e2e drives Evently's public API through the gateway with every service running,
// the way a client would. TestMain starts a private copy of the whole system (own ports,
// database, topic prefix and Redis key prefix) with scripts/run.sh, unless
// EVENTLY_E2E_BASE_URL points at a system that is already running.
package e2e
