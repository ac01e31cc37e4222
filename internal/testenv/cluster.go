package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
)

// RedisClusterEnv holds the comma-separated host:port addresses of a
// Redis Cluster's nodes for tests.
const RedisClusterEnv = "JWTKIT_REDIS_CLUSTER"

// DefaultRedisCluster is used when $JWTKIT_REDIS_CLUSTER is unset: the
// three masters that .ci/redis-cluster starts on loopback.
const DefaultRedisCluster = "127.0.0.1:7421,127.0.0.1:7422,127.0.0.1:7423"

// RedisClusterAddrs returns the node addresses from $JWTKIT_REDIS_CLUSTER,
// or [DefaultRedisCluster] when it is unset. If the list is malformed or a
// node does not accept TCP connections it calls [SkipOrFail]. It checks
// reachability only; whether the nodes form a cluster in state ok is for
// the caller's client to check.
func RedisClusterAddrs(t testing.TB) []string {
	t.Helper()
	raw := os.Getenv(RedisClusterEnv)
	source := "$" + RedisClusterEnv
	if raw == "" {
		raw, source = DefaultRedisCluster, "the default "+RedisClusterEnv
	}
	addrs, err := splitAddrs(raw)
	if err != nil {
		SkipOrFail(t, "%s: %v; set %s to host:port,host:port,…", source, err, RedisClusterEnv)
		return nil
	}
	for _, a := range addrs {
		if err := Reachable(a, DialTimeout); err != nil {
			SkipOrFail(t, "Redis Cluster node %s from %s is unreachable: %v; start one with .ci/redis-cluster or set %s",
				a, source, err, RedisClusterEnv)
			return nil
		}
	}
	return addrs
}

// splitAddrs parses a comma-separated list of host:port.
func splitAddrs(raw string) ([]string, error) {
	var addrs []string
	for a := range strings.SplitSeq(raw, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if host, port, err := net.SplitHostPort(a); err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("address %q is not host:port", a)
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return nil, errors.New("no address")
	}
	return addrs, nil
}
