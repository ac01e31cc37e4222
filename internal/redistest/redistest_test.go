package redistest

import (
	"context"
	"crypto/rand"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/jwtkit/jwtkit/internal/testenv"
)

func single(t *testing.T) redis.UniversalClient {
	opts, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// Keys finds a test's keys on every node, and DeleteAtEnd removes them
// all, one slot at a time, when the test ends.
func TestKeysAndDeleteAtEnd(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) redis.UniversalClient{
		"Single":  single,
		"Cluster": func(t *testing.T) redis.UniversalClient { return Cluster(t, 0) },
	} {
		t.Run(name, func(t *testing.T) {
			c := open(t)
			prefix := "jwtkit_redistest_" + strings.ToLower(rand.Text()[:12])
			const n = 30
			var seen []string
			t.Run("write", func(t *testing.T) {
				DeleteAtEnd(t, c, func(_ context.Context, keys []string) { seen = keys }, prefix+":*")
				for i := range n {
					if err := c.Set(t.Context(), prefix+":{"+strconv.Itoa(i)+"}", "1", 0).Err(); err != nil {
						t.Fatal(err)
					}
				}
				if keys, err := Keys(t.Context(), c, prefix+":*"); err != nil || len(keys) != n {
					t.Fatalf("Keys = %d keys, %v; want %d", len(keys), err, n)
				}
			})
			if len(seen) != n {
				t.Errorf("DeleteAtEnd showed %d keys, want %d", len(seen), n)
			}
			if keys, err := Keys(t.Context(), c, prefix+":*"); err != nil || len(keys) != 0 {
				t.Fatalf("after the test: %q, %v; want no keys left", keys, err)
			}
			cc, ok := c.(*redis.ClusterClient)
			if !ok {
				return
			}
			nodes := NewNodes(cc)
			if err := nodes.Add(t.Context(), seen); err != nil {
				t.Fatal(err)
			}
			masters, err := MasterCount(t.Context(), cc)
			if err != nil {
				t.Fatal(err)
			}
			// Thirty keys whose slots hang on their hash tags alone (the
			// random prefix is outside them), so the spread is the same in
			// every run: every master holds some.
			if got := nodes.Masters(); len(got) != masters {
				t.Errorf("keys on %q (%s), want all %d masters", got, nodes, masters)
			}
		})
	}
}
