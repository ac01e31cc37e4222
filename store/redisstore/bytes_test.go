package redisstore_test

import (
	"fmt"
	"testing"

	"github.com/jwtkit/jwtkit/store/storetest"
)

// BenchmarkSessionBytes reports what Redis holds per active session
// (bytes/session: the sum of MEMORY USAGE over the store's keys), after 1
// and after 50 rotations of each session:
//
//	go test -run '^$' -bench SessionBytes -benchtime 1x ./store/redisstore
func BenchmarkSessionBytes(b *testing.B) {
	const sessions = 500
	for _, rotations := range []int{1, 50} {
		b.Run(fmt.Sprintf("rotations=%d", rotations), func(b *testing.B) {
			for b.Loop() {
				c := client(b)
				s, prefix := newStoreOn(b, c)
				ctx := b.Context()
				if err := storetest.FillSessions(ctx, s, sessions, rotations); err != nil {
					b.Fatal(err)
				}
				var total int64
				for _, k := range keysOf(b, ctx, c, prefix) {
					n, err := c.MemoryUsage(ctx, k).Result()
					if err != nil {
						b.Fatal(err)
					}
					total += n
				}
				b.ReportMetric(float64(total)/sessions, "bytes/session")
			}
		})
	}
}
