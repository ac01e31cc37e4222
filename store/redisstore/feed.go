package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/storeview"
)

// The revocation log: a sorted set of the live revocations, scored by
// their end (Unix microseconds), and a channel on which every addition is
// published. Both are written by one script, so a view that subscribed
// before it loaded the log misses nothing. Members are
//
//	t:<TokenID(jti)>:<until>
//	f:<TokenID(subject)>:<TokenID(family)>:<until>
//	c:<TokenID(subject)>:<cut-off>:<until>
//
// (times in Unix microseconds), so repeating an announcement adds nothing.

// logForget drops log members this long after their end, like the views.
const logForget = 6 * time.Minute

// announceScript adds a member to the log, drops the ended ones, and
// publishes the member.
//
// KEYS: 1 log. ARGV: 1 member, 2 score (its end), 3 forget before, 4 channel.
var announceScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[1])
return {'ok'}
`)

func (s *Store) prefix() string      { return strings.TrimSuffix(s.subjectBase, ":{") }
func (s *Store) logKey() string      { return s.prefix() + ":{revlog}" }
func (s *Store) feedChannel() string { return s.prefix() + ":revocations" }

// announce adds member, which ends at until, to the revocation log.
// Writes announce before they write: a failed write leaves a view
// refusing a token the store does not, never the reverse.
func (s *Store) announce(ctx context.Context, op, member string, until time.Time) error {
	_, err := s.run(ctx, op, announceScript, []string{s.logKey()},
		member, until.UnixMicro(), time.Now().Add(-logForget).UnixMicro(), s.feedChannel())
	return err
}

// announceFamily announces the revocation of an existing family; an
// unknown family needs none.
func (s *Store) announceFamily(ctx context.Context, op, subject, familyID string) error {
	famHash := hashID(familyID)
	exp, err := s.client.HGet(ctx, s.subjectKeys(subject).family(famHash), "exp").Result()
	switch {
	case errors.Is(err, redis.Nil):
		return nil
	case err != nil:
		return translate(ctx, op, err)
	}
	until, err := parseMicros(exp)
	if err != nil {
		return fmt.Errorf("redisstore: %s: %w: bad family record: %w", op, store.ErrUnavailable, err)
	}
	return s.announce(ctx, op, "f:"+hashID(subject)+":"+famHash+":"+micros(until), until)
}

// ChangeFeed returns the change feed of the store's revocations, for
// a [storeview.Revocations].
//
// Every RevokeToken, RevokeSubject and RevokeFamily announces itself in
// the revocation log before writing, and a rotation that detects reuse
// announces the family it revoked after the fact. Not covered: a process
// that stops between detecting reuse and announcing it (the refresh
// tokens of that family are still refused everywhere, but views accept
// its access tokens until they expire), and writes made by older versions
// of this package or by hand. The log holds one member per live
// revocation.
//
// The feed holds one connection (a pub/sub subscription) while followed;
// on Redis Cluster it subscribes on the master of the log. While a
// resharding moves the log's slot, the PONG order no longer covers
// announcements published on the new master (they arrive over the
// cluster bus, normally within milliseconds); the next reconnect
// subscribes there.
func (s *Store) ChangeFeed() storeview.Feed { return &feed{s: s} }

type feed struct{ s *Store }

// errNoHeartbeat stops a feed whose heartbeats stopped coming back.
var errNoHeartbeat = errors.New("redisstore: change feed: no heartbeat reply")

// silenceLimit is how long a feed waits for a heartbeat reply before it
// drops the connection and starts over.
func silenceLimit(heartbeat time.Duration) time.Duration { return max(10*heartbeat, 5*time.Second) }

// Follow implements [storeview.Feed]. Heartbeats are PINGs on the
// subscription: the server answers them in order with the messages, so
// the PONG of a PING sent at T follows every announcement published
// before T.
func (f *feed) Follow(ctx context.Context, sink storeview.Sink, heartbeat time.Duration) error {
	s := f.s
	// On Redis Cluster, subscribe on the master of the log, where the
	// announcements are published: only there does the PONG order prove
	// anything (other nodes get them later, over the cluster bus).
	var sub interface {
		Subscribe(ctx context.Context, channels ...string) *redis.PubSub
	} = s.client
	if c, ok := s.client.(*redis.ClusterClient); ok {
		node, err := c.MasterForKey(ctx, s.logKey())
		if err != nil {
			return err
		}
		sub = node
	}
	ps := sub.Subscribe(ctx)
	defer ps.Close()
	if err := ps.Subscribe(ctx, s.feedChannel()); err != nil {
		return err
	}
	// Wait for the confirmation: from here on, nothing published is missed.
	if _, err := ps.ReceiveTimeout(ctx, 10*heartbeat); err != nil {
		return err
	}
	start := time.Now()
	members, err := s.client.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key: s.logKey(), ByScore: true,
		Start: strconv.FormatInt(start.Add(-logForget).UnixMicro(), 10), Stop: "+inf",
	}).Result()
	if err != nil {
		return err
	}
	records := make([]storeview.Record, 0, len(members))
	for _, m := range members {
		r, err := parseMember(m)
		if err != nil {
			return err
		}
		records = append(records, r)
	}
	sink.Reset(start, records)
	lastAck := start

	var seq uint64
	sent := map[string]time.Time{}
	for {
		seq++
		beat := strconv.FormatUint(seq, 10)
		at := time.Now()
		// A connection that stopped answering (a black hole) may take the
		// kernel many minutes to fail: give up on it sooner.
		if at.Sub(lastAck) > silenceLimit(heartbeat) {
			return errNoHeartbeat
		}
		if len(sent) > 16 { // lost heartbeats: forget them
			clear(sent)
		}
		sent[beat] = at
		if err := ps.Ping(ctx, beat); err != nil {
			return err
		}
		next := at.Add(heartbeat)
		for {
			wait := time.Until(next)
			if wait <= 0 {
				break
			}
			msg, err := ps.ReceiveTimeout(ctx, wait)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				var ne interface{ Timeout() bool }
				if errors.As(err, &ne) && ne.Timeout() {
					break // time for the next heartbeat
				}
				return err
			}
			switch m := msg.(type) {
			case *redis.Pong:
				if t, ok := sent[m.Payload]; ok {
					delete(sent, m.Payload)
					sink.Fresh(t)
					lastAck = t
					lastAck = t
				}
			case *redis.Message:
				r, err := parseMember(m.Payload)
				if err != nil {
					return err
				}
				sink.Apply(r)
			case *redis.Subscription:
				if m.Kind != "subscribe" {
					return fmt.Errorf("redisstore: revocation feed: %s %s", m.Kind, m.Channel)
				}
			}
		}
	}
}

// parseMember decodes a log member.
func parseMember(m string) (storeview.Record, error) {
	parts := strings.Split(m, ":")
	ok := true
	at := func(i int) time.Time {
		us, err := strconv.ParseInt(parts[i], 10, 64)
		ok = ok && err == nil
		return time.UnixMicro(us)
	}
	var r storeview.Record
	switch {
	case parts[0] == "t" && len(parts) == 3:
		r = storeview.Record{Kind: storeview.Token, ID: parts[1], Until: at(2)}
	case parts[0] == "f" && len(parts) == 4:
		r = storeview.Record{Kind: storeview.Family, Subject: parts[1], ID: parts[2], Until: at(3)}
	case parts[0] == "c" && len(parts) == 4:
		r = storeview.Record{Kind: storeview.Cutoff, Subject: parts[1], At: at(2), Until: at(3)}
	default:
		ok = false
	}
	if !ok {
		return storeview.Record{}, fmt.Errorf("redisstore: revocation feed: bad member %q", m)
	}
	return r, nil
}
