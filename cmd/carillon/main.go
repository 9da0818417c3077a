// Command carillon serves the Amazon Chime SDK Meetings API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/carillon-dev/carillon/internal/config"
	"github.com/carillon-dev/carillon/internal/server"
	"github.com/carillon-dev/carillon/internal/token"
)

const usage = `Carillon serves the Amazon Chime SDK Meetings API (2021-07-15).

Usage:
  carillon serve [flags]       run the server (carillon serve --help lists every setting)
  carillon meetings list       list meetings (--all for ended ones, --account ID)
  carillon meetings show ID    a meeting with its attendees, features, tags, age and end reason
  carillon events watch        print events as they happen (--meeting-id ID for one meeting)
  carillon events dead-letters list the deliveries that were given up on
  carillon events replay [SEQ...] put dead deliveries back in line (all without SEQ)
  carillon keys list           list the join-token keys
  carillon keys rotate         add a new active join-token key; older tokens stay valid
  carillon keys retire ID      remove an old key; the tokens it minted stop working
  carillon bench [flags]       load an endpoint and measure it (carillon bench --help)
  carillon bench seed          fill a stopped server's data directory with meetings
  carillon bench disk          the latency the data directory's storage alone gives durable writes
  carillon bench targets       check a server against the performance targets
  carillon bench growth        check the growth targets: servers it starts on a filled and an empty store
  carillon version             print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stderr)
	case "keys":
		err = keys(args[1:], stdout, stderr)
	case "events":
		err = eventsCommand(args[1:], stdout, stderr)
	case "bench":
		err = benchCommand(args[1:], stdout, stderr)
	case "meetings":
		err = meetingsCommand(args[1:], stdout, stderr, time.Now())
	case "version", "--version":
		fmt.Fprintln(stdout, version())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "carillon: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintf(stderr, "carillon: %v\n", err)
		return 1
	}
}

func version() string {
	v := "(devel)"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		v = info.Main.Version
	}
	return fmt.Sprintf("carillon %s %s %s/%s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // checked by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// tuneGC trades memory for CPU: the server's live heap is small, so the
// default GOGC=100 collects many times a second under load, and each
// collection costs CPU and latency. A higher percentage, held in check by
// a soft memory limit, collects far less often. GOGC and GOMEMLIMIT in the
// environment still win.
func tuneGC(percent int, limit int64) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(percent)
	}
	if os.Getenv("GOMEMLIMIT") == "" && limit > 0 {
		debug.SetMemoryLimit(limit)
	}
}

func serve(args []string, stderr io.Writer) error {
	cfg, err := config.Parse("serve", args, stderr)
	if err != nil {
		return err
	}
	tuneGC(400, 768<<20)
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv, err := server.New(ctx, cfg, server.Options{Log: log})
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if err := srv.ReloadKeys(); err != nil {
				log.Error("reload join-token keys", "err", err)
			} else {
				log.Info("join-token keys reloaded")
			}
		}
	}()
	return srv.Run(ctx)
}

func keys(args []string, stdout, stderr io.Writer) error {
	sub, fs, err := subcommand("keys", args, stderr, "list, rotate or retire ID")
	if err != nil {
		return err
	}
	dataDir := dataDirFlag(fs, "data `DIR` of the server")
	keyFile := fs.String("token-key-file", os.Getenv("CARILLON_TOKEN_KEY_FILE"), "join-token key `FILE` (default: <data-dir>/join-token-keys.json)")
	positional, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	path := *keyFile
	if path == "" {
		path = filepath.Join(*dataDir, "join-token-keys.json")
	}
	switch sub {
	case "list":
		list, err := token.List(path)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCREATED\tACTIVE")
		for _, k := range list {
			fmt.Fprintf(tw, "%d\t%s\t%v\n", k.ID, k.CreatedAt.Format("2006-01-02 15:04:05Z07:00"), k.Active)
		}
		return tw.Flush()
	case "rotate":
		id, err := token.Rotate(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key %d is now active; send SIGHUP to running servers (or restart them) so they mint with it\n", id)
		return nil
	case "retire":
		if len(positional) != 1 {
			return errors.New("keys retire: want the key ID")
		}
		id, err := strconv.ParseUint(positional[0], 10, 32)
		if err != nil {
			return fmt.Errorf("keys retire: %q is not a key ID", positional[0])
		}
		if err := token.Retire(path, uint32(id)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key %d retired; send SIGHUP to running servers (or restart them)\n", id)
		return nil
	default:
		return fmt.Errorf("keys: unknown subcommand %q (want %s)", sub, strings.Join([]string{"list", "rotate", "retire"}, ", "))
	}
}

// parseInterleaved parses flags that may come before or after positional
// arguments (`show ID --data-dir d` as well as `show --data-dir d ID`) and
// returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// subcommand reads the subcommand of a command (its first argument) and
// returns a flag set for the rest.
func subcommand(command string, args []string, stderr io.Writer, want string) (string, *flag.FlagSet, error) {
	if len(args) == 0 {
		return "", nil, fmt.Errorf("%s: want %s", command, want)
	}
	fs := flag.NewFlagSet(command+" "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	return args[0], fs, nil
}

// dataDirFlag declares the --data-dir flag of the commands that read a
// server's data directory.
func dataDirFlag(fs *flag.FlagSet, usage string) *string {
	return fs.String("data-dir", envOr("CARILLON_DATA_DIR", "carillon-data"), usage)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
