package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outreach-engine/outreach/internal/store"
	"github.com/outreach-engine/outreach/internal/testenv"
)

func TestMigrationsAreNumberedAndOrdered(t *testing.T) {
	migs, err := store.Migrations()
	require.NoError(t, err)
	require.NotEmpty(t, migs)
	for i := 1; i < len(migs); i++ {
		assert.Less(t, migs[i-1].Version, migs[i].Version)
	}
}

func TestMigrateIsIdempotentAndSafeWithConcurrentWorkers(t *testing.T) {
	pool := testenv.Postgres(t) // already migrated once
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make([]error, 4)
	applied := make([][]string, 4)
	for i := range errs {
		wg.Go(func() { applied[i], errs[i] = store.Migrate(ctx, pool) })
	}
	wg.Wait()
	for i := range errs {
		require.NoError(t, errs[i])
		assert.Empty(t, applied[i], "nothing left to apply")
	}
	migs, err := store.Migrations()
	require.NoError(t, err)
	var n int
	require.NoError(t, pool.QueryRow(ctx, `select count(*) from schema_migrations`).Scan(&n))
	assert.Equal(t, len(migs), n)
}
