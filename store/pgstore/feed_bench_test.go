package pgstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/pgstore"
	"github.com/jwtkit/jwtkit/store/storeview"
)

// arrivals wraps a feed and reports when each record reaches the view.
type arrivals struct {
	inner storeview.Feed
	seen  chan arrival
}

type arrival struct {
	id string
	at time.Time
}

func (f arrivals) Follow(ctx context.Context, s storeview.Sink, hb time.Duration) error {
	return f.inner.Follow(ctx, arrivalSink{s, f.seen}, hb)
}

type arrivalSink struct {
	storeview.Sink
	seen chan arrival
}

func (s arrivalSink) Apply(r storeview.Record) {
	s.Sink.Apply(r)
	s.seen <- arrival{r.ID, time.Now()}
}

// BenchmarkRevocationPropagation measures the delay from the start of a
// RevokeToken on one instance until two other instances' views hold it
// (each with its own pool and feed connection), and reports its p50 and
// p99 in milliseconds.
//
//	go test -run '^$' -bench RevocationPropagation -benchtime 500x ./store/pgstore
func BenchmarkRevocationPropagation(b *testing.B) {
	s, schema := newStore(b)
	ctx := context.Background()
	var seen []chan arrival
	for range 2 {
		p := connect(b, 4, "")
		b.Cleanup(p.Close)
		st, err := pgstore.New(p, pgstore.Config{Schema: schema})
		if err != nil {
			b.Fatal(err)
		}
		ch := make(chan arrival, 16)
		v, err := storeview.NewRevocations(storeview.RevocationsConfig{Store: st, Feed: arrivals{st.ChangeFeed(), ch}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = v.Close() })
		for !v.Status().Fresh {
			time.Sleep(10 * time.Millisecond) // start-up only, not measured
		}
		seen = append(seen, ch)
	}
	var delays []time.Duration
	b.ResetTimer()
	for i := range b.N {
		jti := fmt.Sprintf("prop-%d", i)
		want := store.TokenID(jti)
		start := time.Now()
		if err := s.RevokeToken(ctx, store.TokenRef{ID: jti}, start.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		for _, ch := range seen {
			for a := range ch {
				if a.id == want {
					delays = append(delays, a.at.Sub(start))
					break
				}
			}
		}
	}
	b.StopTimer()
	slices.Sort(delays)
	pct := func(p float64) float64 {
		return float64(delays[int(p*float64(len(delays)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(delays[len(delays)-1].Microseconds())/1000, "max-ms")
}
