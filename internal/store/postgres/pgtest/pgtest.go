// Package pgtest gives tests a PostgreSQL schema of their own.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URL is the database the tests use: $CARILLON_TEST_POSTGRES_URL, or
// the local server with trust authentication that CI provides.
func URL() string {
	if u := os.Getenv("CARILLON_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Schema returns a fresh schema name for one test and drops the schema
// when the test ends. When PostgreSQL cannot be reached the test is skipped
// with a message, except in CI (CI set), where it fails: CI must run it.
func Schema(t testing.TB) (url, schema string) {
	t.Helper()
	url = URL()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL at %s is required in CI: %v", url, err)
		}
		t.Skipf("PostgreSQL is not reachable at %s (set CARILLON_TEST_POSTGRES_URL): %v", url, err)
	}
	conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	schema = "carillon_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, url); err == nil {
			conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
			conn.Close(ctx)
		}
	})
	return url, schema
}
