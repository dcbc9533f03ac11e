// Package benchenv gives the benchmark and chaos programs what they share: a
// scratch Postgres schema of their own, migrated and dropped afterwards, and
// a logger that keeps the Temporal client quiet.
package benchenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outreach-engine/outreach/internal/store"
)

// Scratch is a Postgres schema of its own, migrated, dropped by Close.
type Scratch struct {
	Pool *pgxpool.Pool
	// URL connects to the same schema, for processes the program starts
	// (a worker binary).
	URL    string
	schema string
	admin  string
}

// NewScratch creates a schema named prefix_<random> on the server at
// adminURL and applies every migration.
func NewScratch(ctx context.Context, adminURL, prefix string) (*Scratch, error) {
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	s := &Scratch{schema: prefix + "_" + hex.EncodeToString(suffix), admin: adminURL}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "create schema "+pgx.Identifier{s.schema}.Sanitize()); err != nil {
		return nil, err
	}
	sep := "?"
	if strings.Contains(adminURL, "?") {
		sep = "&"
	}
	s.URL = adminURL + sep + "search_path=" + s.schema
	if s.Pool, err = store.Open(ctx, s.URL); err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx, s.Pool); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close drops the schema.
func (s *Scratch) Close() {
	s.Pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, s.admin); err == nil {
		_, _ = conn.Exec(ctx, "drop schema "+pgx.Identifier{s.schema}.Sanitize()+" cascade")
		_ = conn.Close(ctx)
	}
}

// Quiet is a Temporal client logger that drops everything.
type Quiet struct{}

func (Quiet) Debug(string, ...any) {}
func (Quiet) Info(string, ...any)  {}
func (Quiet) Warn(string, ...any)  {}
func (Quiet) Error(string, ...any) {}
