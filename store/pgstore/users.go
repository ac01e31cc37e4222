package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/jwtkit/jwtkit/store"
)

// UserByUsername returns the account whose username is exactly username
// (byte-wise, no case folding). It returns an error wrapping
// [store.ErrNotFound] for an unknown username and [store.ErrUnavailable]
// when the database cannot answer.
func (s *Store) UserByUsername(ctx context.Context, username string) (store.User, error) {
	return s.user(ctx, "user by username", s.q.userByUsername, username)
}

// UserByID returns the account with the given ID, with the same errors as
// [Store.UserByUsername].
func (s *Store) UserByID(ctx context.Context, id string) (store.User, error) {
	return s.user(ctx, "user by id", s.q.userByID, id)
}

func (s *Store) user(ctx context.Context, op, query, key string) (store.User, error) {
	if err := ctx.Err(); err != nil {
		return store.User{}, unavailable(op, err)
	}
	if key == "" || !storable(key) {
		// Nothing with this key can have been stored.
		return store.User{}, fmt.Errorf("pgstore: %s: %w", op, store.ErrNotFound)
	}
	var (
		u       store.User
		scopes  []string
		profile []byte
	)
	err := s.pool.QueryRow(ctx, query, key).Scan(
		&u.ID, &u.Username, &u.PasswordHash, &u.Disabled, &scopes, &profile, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.User{}, fmt.Errorf("pgstore: %s: %w", op, store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, translate(ctx, op, err)
	}
	if len(scopes) > 0 {
		u.Scopes = scopes
	}
	var m map[string]string
	if err := json.Unmarshal(profile, &m); err != nil {
		return store.User{}, fmt.Errorf("pgstore: %s: decoding profile: %w", op, err)
	}
	if len(m) > 0 {
		u.Profile = m
	}
	return u, nil
}

// CreateUser stores u. It returns an error wrapping [store.ErrExists] when
// the ID or the username is taken. Empty IDs and usernames, and strings
// PostgreSQL cannot store (invalid UTF-8, NUL bytes), are rejected. Empty
// Scopes and Profile are stored as empty and read back as nil.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	const op = "create user"
	if err := ctx.Err(); err != nil {
		return unavailable(op, err)
	}
	for _, f := range []struct{ name, v string }{{"user ID", u.ID}, {"username", u.Username}} {
		if err := checkStorable(op, f.name, f.v); err != nil {
			return err
		}
	}
	if !storable(u.PasswordHash) {
		return fmt.Errorf("pgstore: %s: password hash is not valid UTF-8 or contains NUL", op)
	}
	scopes := u.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	for _, sc := range scopes {
		if !storable(sc) {
			return fmt.Errorf("pgstore: %s: scope %q is not storable", op, sc)
		}
	}
	for k, v := range u.Profile {
		if !storable(k) || !storable(v) {
			return fmt.Errorf("pgstore: %s: profile field %q is not storable", op, k)
		}
	}
	profile := u.Profile
	if profile == nil {
		profile = map[string]string{}
	}
	pj, err := json.Marshal(profile)
	if err != nil {
		return fmt.Errorf("pgstore: %s: encoding profile: %w", op, err)
	}
	_, err = s.pool.Exec(ctx, s.q.createUser,
		u.ID, u.Username, u.PasswordHash, u.Disabled, scopes, string(pj), trunc(u.CreatedAt))
	if err != nil {
		return translate(ctx, op, err)
	}
	return nil
}

// CompareAndSwapPasswordHash replaces the password hash of user id with
// new if it is old, in one UPDATE, and reports whether it did.
func (s *Store) CompareAndSwapPasswordHash(ctx context.Context, id, old, new string) (bool, error) {
	const op = "swap password hash"
	if err := ctx.Err(); err != nil {
		return false, unavailable(op, err)
	}
	if !storable(new) {
		return false, fmt.Errorf("pgstore: %s: password hash is not valid UTF-8 or contains NUL", op)
	}
	if id == "" || !storable(id) || !storable(old) {
		return false, nil
	}
	tag, err := s.pool.Exec(ctx, s.q.swapPassword, id, old, new)
	if err != nil {
		return false, translate(ctx, op, err)
	}
	return tag.RowsAffected() == 1, nil
}

// SetPasswordHash replaces the password hash of user id. It returns an
// error wrapping [store.ErrNotFound] for an unknown id.
func (s *Store) SetPasswordHash(ctx context.Context, id, hash string) error {
	const op = "set password hash"
	if err := ctx.Err(); err != nil {
		return unavailable(op, err)
	}
	if !storable(hash) {
		return fmt.Errorf("pgstore: %s: password hash is not valid UTF-8 or contains NUL", op)
	}
	if id == "" || !storable(id) {
		return fmt.Errorf("pgstore: %s: %w", op, store.ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, s.q.setPassword, id, hash)
	if err != nil {
		return translate(ctx, op, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: %s: %w", op, store.ErrNotFound)
	}
	return nil
}
