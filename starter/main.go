// Command starter is the marketers' CLI: import customers, start journeys,
// and see what each customer received. Run `starter help` for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/outreach-engine/outreach/internal/cli"
	"github.com/outreach-engine/outreach/internal/config"
)

func main() {
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starter:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// The starter talks to people: Temporal's own client chatter stays below
	// warnings unless LOG_LEVEL asks for debug.
	cfg.LogLevel = max(cfg.LogLevel, slog.LevelWarn)
	app := &cli.App{Config: cfg, Out: os.Stdout, Err: os.Stderr, Logger: cfg.Logger()}
	err = cli.Run(ctx, app, os.Args[1:])
	app.Close()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, cli.ErrUsage):
		fmt.Fprintln(os.Stderr, "starter:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "starter:", err)
		os.Exit(1)
	}
}
