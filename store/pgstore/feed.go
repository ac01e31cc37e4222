package pgstore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/storeview"
)

// ChangeFeed returns the change feed of the store's revocations and
// users, for a [storeview.Revocations] or [storeview.Users]. Triggers
// (schema version 2) notify every denylisted token, cut-off and family
// revocation (logout, reuse detection, RevokeSubject, Sweep), and every
// change or deletion of a user, inside the writing transaction, so a
// change is announced exactly when it commits, whichever instance or
// code path wrote it.
//
// The feed holds one connection of the pool for as long as it is
// followed; size the pool for it.
func (s *Store) ChangeFeed() storeview.Feed {
	sum := md5.Sum([]byte(s.schema))
	return &feed{pool: s.pool, schema: s.schema, channel: "jwtkit_" + hex.EncodeToString(sum[:])}
}

type feed struct {
	pool    *pgxpool.Pool
	schema  string
	channel string
}

// errNoHeartbeat stops a feed whose heartbeats stopped coming back.
var errNoHeartbeat = errors.New("pgstore: change feed: no heartbeat reply")

// silenceLimit is how long a feed waits for a heartbeat reply before it
// drops the connection and starts over.
func silenceLimit(heartbeat time.Duration) time.Duration { return max(10*heartbeat, 5*time.Second) }

// forgetMargin matches the view's: records ended longer ago than this are
// not loaded.
const forgetMargin = "6 minutes"

// Follow implements [storeview.Feed]. Heartbeats are notifications the
// feed sends to itself: the server delivers a channel's notifications in
// commit order, so when the heartbeat sent at T arrives, every change
// committed before T has arrived before it.
func (f *feed) Follow(ctx context.Context, sink storeview.Sink, heartbeat time.Duration) error {
	c, err := f.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := c.Hijack() // LISTEN ties the connection to the feed
	defer conn.Close(context.Background())

	// The full load is bounded too, generously: it reads every live
	// revocation.
	lctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	listen := "LISTEN " + pgx.Identifier{f.channel}.Sanitize()
	if _, err := conn.Exec(lctx, listen); err != nil {
		return err
	}
	start := time.Now()
	records, err := f.load(lctx, conn)
	if err != nil {
		return err
	}
	sink.Reset(start, records)
	lastAck := start

	// Other feeds on the channel send heartbeats too: ours carry the
	// connection's backend PID.
	var (
		seq  uint64
		sent = map[string]time.Time{}
		mine = "h" + strconv.FormatUint(uint64(conn.PgConn().PID()), 10) + "."
	)
	for {
		seq++
		beat := mine + strconv.FormatUint(seq, 10)
		at := time.Now()
		// A connection that stopped answering (a black hole) may take the
		// kernel many minutes to fail: give up on it sooner.
		if at.Sub(lastAck) > silenceLimit(heartbeat) {
			return errNoHeartbeat
		}
		sent[beat] = at
		if len(sent) > 16 { // lost heartbeats: forget them
			clear(sent)
			sent[beat] = at
		}
		notify := "NOTIFY " + pgx.Identifier{f.channel}.Sanitize() + ", '" + beat + "'"
		nctx, cancel := context.WithTimeout(ctx, silenceLimit(heartbeat))
		_, err := conn.Exec(nctx, notify)
		cancel()
		if err != nil {
			return err
		}
		next := at.Add(heartbeat)
		for {
			wctx, cancel := context.WithDeadline(ctx, next)
			n, err := conn.WaitForNotification(wctx)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed() {
					break // time for the next heartbeat
				}
				return err
			}
			if t, ok := sent[n.Payload]; ok {
				delete(sent, n.Payload)
				sink.Fresh(t)
				lastAck = t
				continue
			}
			if strings.HasPrefix(n.Payload, "h") {
				continue // another feed's heartbeat, or one of ours forgotten
			}
			rec, err := parseRecord(n.Payload)
			if err != nil {
				return err // a payload this version does not know: rebuild
			}
			sink.Apply(rec)
		}
	}
}

// load reads every revocation record that can still refuse a token.
func (f *feed) load(ctx context.Context, conn *pgx.Conn) ([]storeview.Record, error) {
	q := func(table string) string { return pgx.Identifier{f.schema, table}.Sanitize() }
	var out []storeview.Record
	rows, err := conn.Query(ctx, `SELECT jti_hash, expires_at FROM `+q("revoked_tokens")+
		` WHERE expires_at > now() - interval '`+forgetMargin+`'`)
	if err != nil {
		return nil, err
	}
	var (
		id, sub   string
		at, until time.Time
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &until}, func() error {
		out = append(out, storeview.Record{Kind: storeview.Token, ID: id, Until: until})
		return nil
	}); err != nil {
		return nil, err
	}
	rows, err = conn.Query(ctx, `SELECT subject, cutoff, keep_until FROM `+q("subject_cutoffs")+
		` WHERE keep_until > now() - interval '`+forgetMargin+`'`)
	if err != nil {
		return nil, err
	}
	if _, err := pgx.ForEachRow(rows, []any{&sub, &at, &until}, func() error {
		out = append(out, storeview.Record{Kind: storeview.Cutoff, Subject: store.TokenID(sub), At: at, Until: until})
		return nil
	}); err != nil {
		return nil, err
	}
	rows, err = conn.Query(ctx, `SELECT subject, id, expires_at FROM `+q("refresh_families")+
		` WHERE revoked AND expires_at > now() - interval '`+forgetMargin+`'`)
	if err != nil {
		return nil, err
	}
	if _, err := pgx.ForEachRow(rows, []any{&sub, &id, &until}, func() error {
		out = append(out, storeview.Record{Kind: storeview.Family, Subject: store.TokenID(sub), ID: store.TokenID(id), Until: until})
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// parseRecord decodes a trigger's payload (see migration 0002_change_feed).
func parseRecord(payload string) (storeview.Record, error) {
	var p struct {
		K     string `json:"k"`
		ID    string `json:"id"`
		Sub   string `json:"sub"`
		At    int64  `json:"at"`
		Until int64  `json:"until"`
	}
	d := json.NewDecoder(strings.NewReader(payload))
	d.DisallowUnknownFields()
	if err := d.Decode(&p); err != nil {
		return storeview.Record{}, fmt.Errorf("pgstore: revocation feed: bad payload: %w", err)
	}
	r := storeview.Record{ID: p.ID, Subject: p.Sub, At: time.UnixMicro(p.At), Until: time.UnixMicro(p.Until)}
	switch p.K {
	case "t":
		r.Kind = storeview.Token
	case "c":
		r.Kind = storeview.Cutoff
	case "f":
		r.Kind = storeview.Family
	case "u":
		r.Kind = storeview.User
	default:
		return storeview.Record{}, fmt.Errorf("pgstore: revocation feed: unknown kind %q", p.K)
	}
	return r, nil
}
