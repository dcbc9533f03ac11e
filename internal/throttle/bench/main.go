// Command bench measures throttle decisions per second against a real
// PostgreSQL: each decision is the check-and-reserve transaction a Deliver
// activity runs (per-customer lock, ledger count, reservation, decision row).
// It runs two loads with the same number of clients: many customers, and
// every client contending for one customer. `make bench` runs it next to
// pgbench on the same server.
//
//	go run ./internal/throttle/bench -db postgres://postgres@127.0.0.1:5432/scratch -c 8 -T 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/store"
	"github.com/outreach-engine/outreach/internal/throttle"
)

func main() {
	var (
		dbURL     = flag.String("db", os.Getenv("DATABASE_URL"), "scratch database URL (its tables are replaced)")
		clients   = flag.Int("c", 8, "concurrent clients")
		duration  = flag.Duration("T", 10*time.Second, "duration of each load")
		customers = flag.Int("customers", 10000, "customers in the many-customers load")
	)
	flag.Parse()
	if err := run(*dbURL, *clients, *duration, *customers); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(dbURL string, clients int, d time.Duration, customers int) error {
	if dbURL == "" {
		return fmt.Errorf("-db (or DATABASE_URL) is required")
	}
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return err
	}
	cfg.MaxConns = int32(clients)
	pool, err := store.OpenConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `drop schema public cascade; create schema public`); err != nil {
		return fmt.Errorf("reset scratch database: %w", err)
	}
	if _, err := store.Migrate(ctx, pool); err != nil {
		return err
	}
	zones := []string{"Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC"}
	if _, err := pool.Exec(ctx, `
		insert into customers (id, name, time_zone)
		select 'c' || i, 'Bench Customer', ($2::text[])[1 + i % array_length($2::text[], 1)]
		from generate_series(0, $1 - 1) i`, customers, zones); err != nil {
		return fmt.Errorf("seed customers: %w", err)
	}
	policy := throttle.Default()
	fmt.Printf("throttle decisions, %d clients, %s per load, default policy\n", clients, d)
	for _, load := range []struct {
		name      string
		customers int
	}{{fmt.Sprintf("many customers (%d)", customers), customers}, {"one customer (contention)", 1}} {
		r, err := measure(ctx, pool, policy, clients, d, load.customers)
		if err != nil {
			return err
		}
		fmt.Printf("%-28s decisions/s=%.0f p50=%s p99=%s allowed=%d deferred=%d expired=%d\n",
			load.name, r.perSecond, r.p50, r.p99, r.outcomes[throttle.Allowed], r.outcomes[throttle.Deferred], r.outcomes[throttle.Expired])
	}
	return nil
}

type result struct {
	perSecond float64
	p50, p99  time.Duration
	outcomes  map[throttle.Outcome]int
}

// measure runs clients loops for d, each deciding fresh touches (reserved
// ledger rows created before the clock starts) of random customers among
// the first n.
func measure(ctx context.Context, pool *pgxpool.Pool, p *throttle.Policy, clients int, d time.Duration, n int) (result, error) {
	// Enough waiting touches for any plausible rate; created up front so
	// only decisions are timed.
	const perClient = 10000
	_, err := pool.Exec(ctx, `
		insert into touches (workflow_id, entry_id, step_key, journey, journey_version, customer_id,
		                     step_id, channel, intent, status)
		select 'bench:' || g, 'e', 's', 'bench', 1, 'c' || (g % $2), 's',
		       (array['email','sms','voice','mail'])[1 + g % 4],
		       (array['transactional','caring','promotional'])[1 + g % 3], 'reserved'
		from generate_series(1, $1) g`, clients*perClient, n)
	if err != nil {
		return result{}, fmt.Errorf("create touches: %w", err)
	}
	rows, err := pool.Query(ctx, `
		select t.id, t.customer_id, c.time_zone, t.channel, t.intent
		from touches t join customers c on c.id = t.customer_id order by t.id`)
	if err != nil {
		return result{}, err
	}
	type touch struct {
		id                     int64
		customer, zone, ch, in string
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (touch, error) {
		var t touch
		return t, r.Scan(&t.id, &t.customer, &t.zone, &t.ch, &t.in)
	})
	if err != nil {
		return result{}, err
	}
	rand.New(rand.NewSource(1)).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })

	var (
		next     atomic.Int64
		mu       sync.Mutex
		lat      []time.Duration
		outcomes = map[throttle.Outcome]int{}
		firstErr error
		wg       sync.WaitGroup
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for range clients {
		wg.Go(func() {
			var mine []time.Duration
			mineOut := map[throttle.Outcome]int{}
			for time.Now().Before(deadline) {
				i := next.Add(1) - 1
				if int(i) >= len(all) {
					break
				}
				t := all[i]
				t0 := time.Now()
				var res throttle.Result
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					var err error
					res, err = throttle.CheckAndReserve(ctx, tx, p, throttle.Check{
						TouchID: t.id, CustomerID: t.customer, TimeZone: t.zone,
						Channel: channel.Name(t.ch), Intent: channel.Intent(t.in), At: time.Now(),
					})
					return err
				})
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t0))
				mineOut[res.Outcome]++
			}
			mu.Lock()
			lat = append(lat, mine...)
			for k, v := range mineOut {
				outcomes[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return result{}, firstErr
	}
	if len(lat) == 0 {
		return result{}, fmt.Errorf("no decisions were made")
	}
	slices.Sort(lat)
	if _, err := pool.Exec(ctx, `delete from throttle_decisions; delete from touches`); err != nil {
		return result{}, err
	}
	return result{
		perSecond: float64(len(lat)) / elapsed.Seconds(),
		p50:       lat[len(lat)/2].Round(10 * time.Microsecond),
		p99:       lat[len(lat)*99/100].Round(10 * time.Microsecond),
		outcomes:  outcomes,
	}, nil
}
