// Package redistest connects tests to the local Redis Cluster and keeps
// their data apart on it: per-test key prefixes are scanned on every
// master and deleted key by key, since a cluster has no FLUSHALL that
// could be scoped to one test, and a multi-key DEL must stay in one slot.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtkit/jwtkit/internal/testenv"
)

// cleanupTimeout bounds the scan and deletion of one test's keys.
const cleanupTimeout = 10 * time.Second

// Cluster returns a client of the cluster named by
// testenv.RedisClusterAddrs, closed when t ends. It calls
// testenv.SkipOrFail unless every master reports cluster_state:ok and at
// least two masters serve slots, so that tests on it cross nodes.
// poolSize is per node; 0 means go-redis's default.
func Cluster(t testing.TB, poolSize int) *redis.ClusterClient {
	t.Helper()
	addrs := testenv.RedisClusterAddrs(t)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, PoolSize: poolSize})
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := checkCluster(ctx, c); err != nil {
		testenv.SkipOrFail(t, "Redis Cluster from %s is not usable: %v; start one with .ci/redis-cluster",
			testenv.RedisClusterEnv, err)
	}
	return c
}

// checkCluster reports why c cannot serve the tests, or nil.
func checkCluster(ctx context.Context, c *redis.ClusterClient) error {
	err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		info, err := m.ClusterInfo(ctx).Result()
		if err != nil {
			return fmt.Errorf("%s: %w", m.Options().Addr, err)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("%s: cluster_state is not ok", m.Options().Addr)
		}
		return nil
	})
	if err != nil {
		return err
	}
	n, err := MasterCount(ctx, c)
	if err != nil {
		return err
	}
	if n < 2 {
		return fmt.Errorf("%d master(s): tests need at least two to cross nodes", n)
	}
	return nil
}

// Keys returns the keys matching pattern, scanning every master of a
// cluster client (SCAN sees one node only) or the one server of any other
// client.
func Keys(ctx context.Context, c redis.UniversalClient, pattern string) ([]string, error) {
	scan := func(ctx context.Context, n redis.UniversalClient) ([]string, error) {
		var keys []string
		iter := n.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		return keys, iter.Err()
	}
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		return scan(ctx, c)
	}
	var (
		mu   sync.Mutex
		keys []string
	)
	err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		k, err := scan(ctx, m)
		mu.Lock()
		keys = append(keys, k...)
		mu.Unlock()
		return err
	})
	return keys, err
}

// DeleteAtEnd deletes, when t ends, every key matching one of patterns,
// one DEL per key so that keys of different slots never share a command.
// It calls seen, if not nil, with the keys before deleting them.
func DeleteAtEnd(t testing.TB, c redis.UniversalClient, seen func(context.Context, []string), patterns ...string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		var all []string
		for _, p := range patterns {
			keys, err := Keys(ctx, c, p)
			if err != nil {
				t.Errorf("listing the keys %s: %v", p, err)
			}
			all = append(all, keys...)
		}
		if seen != nil {
			seen(ctx, all)
		}
		for _, k := range all {
			if err := c.Del(ctx, k).Err(); err != nil {
				t.Errorf("deleting %s: %v", k, err)
			}
		}
	})
}

// Nodes records which master of a cluster each key lives on, so that a
// test can check its keys really were spread over several nodes. It is
// safe for concurrent use.
type Nodes struct {
	c  *redis.ClusterClient
	mu sync.Mutex
	m  map[string]int // master address → keys seen there
}

// NewNodes returns an empty record for the masters of c.
func NewNodes(c *redis.ClusterClient) *Nodes {
	return &Nodes{c: c, m: make(map[string]int)}
}

// Add records the master of each key.
func (n *Nodes) Add(ctx context.Context, keys []string) error {
	var errs []error
	for _, k := range keys {
		m, err := n.c.MasterForKey(ctx, k)
		if err != nil {
			errs = append(errs, fmt.Errorf("master of %s: %w", k, err))
			continue
		}
		n.mu.Lock()
		n.m[m.Options().Addr]++
		n.mu.Unlock()
	}
	return errors.Join(errs...)
}

// Masters returns the addresses of the masters holding at least one
// recorded key, sorted.
func (n *Nodes) Masters() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, 0, len(n.m))
	for a := range n.m {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// String lists the keys recorded per master.
func (n *Nodes) String() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var parts []string
	for a, k := range n.m {
		parts = append(parts, fmt.Sprintf("%s: %d keys", a, k))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// MasterCount returns how many masters serve slots in c.
func MasterCount(ctx context.Context, c *redis.ClusterClient) (int, error) {
	var (
		mu sync.Mutex
		n  int
	)
	err := c.ForEachMaster(ctx, func(context.Context, *redis.Client) error {
		mu.Lock()
		n++
		mu.Unlock()
		return nil
	})
	return n, err
}
