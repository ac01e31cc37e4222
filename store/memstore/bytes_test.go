package memstore_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/jwtkit/jwtkit/store/memstore"
	"github.com/jwtkit/jwtkit/store/storetest"
)

// BenchmarkSessionBytes reports the heap a Store keeps per active session
// (bytes/session), after 1 and after 50 rotations of each session:
//
//	go test -run '^$' -bench SessionBytes -benchtime 1x ./store/memstore
func BenchmarkSessionBytes(b *testing.B) {
	const sessions = 2000
	for _, rotations := range []int{1, 50} {
		b.Run(fmt.Sprintf("rotations=%d", rotations), func(b *testing.B) {
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				s := memstore.New()
				if err := storetest.FillSessions(b.Context(), s, sessions, rotations); err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				runtime.KeepAlive(s)
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/sessions, "bytes/session")
			}
		})
	}
}
