// Package server wires Carillon together from its configuration: the store,
// the keys, the accounts, the meetings service, the API and the operations
// endpoints, and runs them until it is told to stop.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/carillon-dev/carillon/internal/accounts"
	"github.com/carillon-dev/carillon/internal/api"
	"github.com/carillon-dev/carillon/internal/config"
	"github.com/carillon-dev/carillon/internal/demo"
	"github.com/carillon-dev/carillon/internal/events"
	"github.com/carillon-dev/carillon/internal/media"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/metrics"
	"github.com/carillon-dev/carillon/internal/quota"
	"github.com/carillon-dev/carillon/internal/sigv4"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/postgres"
	"github.com/carillon-dev/carillon/internal/store/sqlite"
	"github.com/carillon-dev/carillon/internal/token"
)

// Server is a configured Carillon, ready to run.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	store    store.Store
	keys     *token.Keyring
	accounts *accounts.Registry
	service  *meetings.Service
	lock     *dirLock

	dispatcher *events.Dispatcher
	stream     *events.Stream
	media      *media.Hub
	demo       http.Handler // nil when the demo page is off
	metrics    *metrics.Metrics
	api        *api.Handler

	apiListener net.Listener
	opsListener net.Listener
	apiServer   *http.Server
	opsServer   *http.Server
}

// Options are what a caller may inject besides the configuration.
type Options struct {
	Log      *slog.Logger
	Now      func() time.Time
	Presence meetings.Presence
	// WrapStore, when set, wraps the store the configuration opens (tests
	// use it to make the store fail).
	WrapStore func(store.Store) store.Store
}

// New opens everything the configuration names and binds the listeners, so
// that start-up errors (a port in use, a locked data directory) surface
// before Run.
func New(ctx context.Context, cfg config.Config, opts Options) (*Server, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: opts.Log}
	built := false
	defer func() {
		if !built {
			s.closeAll()
		}
	}()
	var err error

	if s.accounts, err = loadAccounts(cfg); err != nil {
		return nil, err
	}
	if s.accounts.IsLocal() {
		if !config.IsLoopback(cfg.Listen) && !cfg.InsecureAllowDefaultCredentials {
			return nil, fmt.Errorf("no credentials are configured, so only the public pair test/test would be accepted: refusing to listen on non-loopback address %s (configure --credentials, or pass --insecure-allow-default-credentials)", cfg.Listen)
		}
		s.log.Warn("no credentials configured: accepting access key \"test\" with secret \"test\" as account 000000000000; configure --credentials before sharing this server")
	}

	switch cfg.Store {
	case "memory":
		st, err := sqlite.Open(ctx, sqlite.Options{})
		if err != nil {
			return nil, fmt.Errorf("open memory store: %w", err)
		}
		s.store = st
	case "sqlite":
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		if s.lock, err = lockDir(cfg.DataDir); err != nil {
			return nil, err
		}
		st, err := sqlite.Open(ctx, sqlite.Options{Path: sqlite.FileIn(cfg.DataDir), Synchronous: cfg.Sync})
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		s.store = st
	case "postgres":
		st, err := postgres.Open(ctx, postgres.Options{URL: cfg.PostgresURL, Schema: cfg.PostgresSchema,
			MaxConns: cfg.PostgresMaxConns, StatementTimeout: cfg.PostgresStatementTimeout})
		if err != nil {
			return nil, err
		}
		s.store = st
	default:
		return nil, fmt.Errorf("unknown store %q", cfg.Store)
	}

	leaser, _ := s.store.(store.Leaser)
	if cfg.Store == "postgres" {
		s.store = events.Whole(s.store) // replicas may run older versions during an upgrade
	}
	if opts.WrapStore != nil {
		s.store = opts.WrapStore(s.store)
	}
	s.metrics = metrics.New(s.store)
	s.store = s.metrics.InstrumentStore(s.store)

	if cfg.TokenKeyFile != "" {
		if s.keys, err = token.Open(cfg.TokenKeyFile); err != nil {
			return nil, fmt.Errorf("join-token keys: %w", err)
		}
	} else if s.keys, err = token.Ephemeral(); err != nil {
		return nil, err
	}

	if s.apiListener, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, err
	}
	if cfg.OpsListen != "" {
		if s.opsListener, err = net.Listen("tcp", cfg.OpsListen); err != nil {
			return nil, err
		}
	}

	sinks := map[string]events.Sink{}
	routes := events.Routes{Webhooks: cfg.WebhookURLs}
	if len(cfg.WebhookURLs) > 0 {
		sinks[events.KindWebhook] = events.NewWebhook(cfg.WebhookSecret, "carillon", 10*time.Second)
	}
	if cfg.NotificationsEndpoint != "" {
		endpoint := cfg.NotificationsEndpoint
		if endpoint == "aws" {
			endpoint = ""
		}
		n, err := events.NewNotifier(ctx, endpoint)
		if err != nil {
			return nil, err
		}
		sinks[events.KindSQS], sinks[events.KindSNS] = n.SQS(), n.SNS()
		routes.Notifications = true
		if cfg.EventBridgeBus != "" {
			sinks[events.KindEventBridge] = n.EventBridge()
			routes.EventBus = cfg.EventBridgeBus
		}
	}
	dcfg := events.DefaultDispatchConfig()
	dcfg.MaxAttempts = cfg.DeliveryMaxAttempts
	dcfg.BaseBackoff, dcfg.MaxBackoff = cfg.DeliveryBackoff, cfg.DeliveryMaxBackoff
	dcfg.Retention = cfg.EventRetention
	s.dispatcher = events.NewDispatcher(s.store, sinks, dcfg, s.log, s.metrics)
	if leaser != nil {
		s.dispatcher.LeadWith(leaser)
	}
	s.stream = events.NewStream(s.store, time.Second)

	mcfg := meetings.DefaultConfig()
	mcfg.PublicURL = cfg.PublicBase(s.apiListener.Addr().String())
	mcfg.MaxAttendees = cfg.MaxAttendees
	mcfg.MaxReplicas = cfg.MaxReplicas
	mcfg.MaxActiveMeetings = cfg.MaxActiveMeetings
	mcfg.IdleTimeout = cfg.IdleTimeout
	mcfg.MaxDuration = cfg.MaxDuration
	mcfg.EndedRetention = cfg.EndedRetention
	presence := opts.Presence
	if presence == nil {
		// The media hub is built after the service it uses.
		presence = meetings.PresenceFunc(func(ctx context.Context, id string) (meetings.PresenceStatus, error) {
			return s.media.Status(ctx, id)
		})
	}
	s.service = meetings.New(mcfg, meetings.Deps{
		Store:    s.store,
		Keys:     s.keys,
		Presence: presence,
		Routes:   routes,
		Notify: func() {
			if routes.Active() {
				s.dispatcher.Notify()
			}
			s.stream.Notify()
			s.media.Notify()
		},
		Now: opts.Now,
		Log: s.log,
	})

	mediaCfg := media.DefaultConfig()
	mediaCfg.UDPPortMin, mediaCfg.UDPPortMax = cfg.MediaUDPPortMin, cfg.MediaUDPPortMax
	mediaCfg.AdvertiseIPs = cfg.MediaAdvertiseIPs
	mediaCfg.Loopback = cfg.MediaLoopback
	mediaCfg.DropGrace = cfg.MediaDropGrace
	if s.media, err = media.New(mediaCfg, s.service, s.store, s.log); err != nil {
		return nil, err
	}
	s.metrics.WatchMedia(s.media.Stats)

	if account, on := demoAccount(cfg, s.accounts); on {
		s.demo = demo.New(demo.Config{SDKPath: cfg.DemoSDK, Caller: meetings.Caller{AccountID: account, Region: "us-east-1"}}, s.service, s.log)
	}

	// Signatures are checked against the real clock: opts.Now moves only the
	// meetings lifecycle (tests jump it by hours).
	verifier := sigv4.NewVerifier(sigv4.Config{Service: "chime", Credentials: s.accounts})
	s.api = api.New(api.Config{
		Service:     s.service,
		Verifier:    verifier,
		Accounts:    s.accounts,
		Log:         s.log,
		MaxBody:     cfg.MaxBody,
		MaxInFlight: cfg.MaxInFlight,
		Limiter:     quota.NewLimiter(cfg.RateLimit, cfg.RateBurst),
		Observer:    s.metrics,
	})
	s.apiServer = &http.Server{
		Handler:           s.publicHandler(),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeoutHTTP,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.opsServer = &http.Server{
		Handler:           s.opsHandler(),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeoutHTTP,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.opsServer.RegisterOnShutdown(s.stream.Close)
	// Shutdown does not wait for WebSockets: the hub closes them so that
	// clients reconnect (to another replica, or to this one restarted).
	s.apiServer.RegisterOnShutdown(s.media.Close)
	built = true
	return s, nil
}

// publicHandler serves the API and, beside it, the paths of the media
// plane: the signaling WebSocket at each meeting's SignalingUrl.
func (s *Server) publicHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/control/") && r.Method == http.MethodGet {
			s.media.ServeHTTP(w, r)
			return
		}
		if s.demo != nil && (r.URL.Path == "/demo" || strings.HasPrefix(r.URL.Path, "/demo/")) {
			s.demo.ServeHTTP(w, r)
			return
		}
		s.api.ServeHTTP(w, r)
	})
}

// demoAccount says whether the demo page is on, and for which account: by
// default only on a server that accepts the public local credentials
// anyway, so the page gives nobody more than they already had.
func demoAccount(cfg config.Config, accts *accounts.Registry) (string, bool) {
	switch cfg.DemoAccount {
	case "off":
		return "", false
	case "":
		return accounts.LocalPrincipal().AccountID, accts.IsLocal()
	default:
		return cfg.DemoAccount, true
	}
}

func loadAccounts(cfg config.Config) (*accounts.Registry, error) {
	switch {
	case cfg.Credentials != "":
		return accounts.LoadFile(cfg.Credentials)
	case cfg.AccessKeyID != "":
		r, err := accounts.New([]accounts.Principal{{AccountID: cfg.AccountID, AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey}})
		if err != nil {
			return nil, fmt.Errorf("--access-key-id: %w", err)
		}
		return r, nil
	default:
		return accounts.NewLocal(), nil
	}
}

// APIAddr is the address the API listens on (useful with port 0).
func (s *Server) APIAddr() string { return s.apiListener.Addr().String() }

// OpsAddr is the address of the operations endpoints, or "" if disabled.
func (s *Server) OpsAddr() string {
	if s.opsListener == nil {
		return ""
	}
	return s.opsListener.Addr().String()
}

// Service returns the meetings service (for the media plane and tests).
func (s *Server) Service() *meetings.Service { return s.service }

// Media returns the media plane (for tests).
func (s *Server) Media() *media.Hub { return s.media }

// Dispatcher returns the event dispatcher (for tests).
func (s *Server) Dispatcher() *events.Dispatcher { return s.dispatcher }

// ReloadKeys re-reads the join-token key file (on SIGHUP).
func (s *Server) ReloadKeys() error { return s.keys.Reload() }

// Run serves until ctx ends, then shuts down gracefully: it stops accepting,
// lets in-flight requests finish, stops the lifecycle and closes the store.
func (s *Server) Run(ctx context.Context) error {
	s.log.Info("carillon listening", "api", "http://"+s.APIAddr(), "ops", s.OpsAddr(),
		"store", s.cfg.Store, "public_url", s.service.Config().PublicURL.String())

	errc := make(chan error, 2)
	go func() { errc <- serveUntilClosed(s.apiServer, s.apiListener) }()
	if s.opsListener != nil {
		go func() { errc <- serveUntilClosed(s.opsServer, s.opsListener) }()
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { s.service.RunLifecycle(workCtx, s.cfg.LifecycleInterval) })
	wg.Go(func() { s.dispatcher.Run(workCtx) })
	wg.Go(func() { s.media.Run(workCtx) })

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	s.log.Info("shutting down")
	s.api.Drain()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownGrace)
	defer cancel()
	err := errors.Join(s.apiServer.Shutdown(shutdownCtx), s.opsServer.Shutdown(shutdownCtx))
	// Shutdown began closing the media hub; its sessions end before the
	// store they report to closes.
	s.media.Close()
	// Events not yet delivered stay in the durable outbox for the next start.
	stopWork()
	wg.Wait()
	err = errors.Join(runErr, err, s.closeAll())
	s.log.Info("stopped")
	return err
}

func serveUntilClosed(srv *http.Server, l net.Listener) error {
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// closeAll releases what New opened.
func (s *Server) closeAll() error {
	var errs []error
	if s.apiListener != nil {
		s.apiListener.Close()
	}
	if s.opsListener != nil {
		s.opsListener.Close()
	}
	if s.store != nil {
		errs = append(errs, s.store.Close())
		s.store = nil
	}
	if s.lock != nil {
		errs = append(errs, s.lock.release())
		s.lock = nil
	}
	return errors.Join(errs...)
}

// Close releases everything without serving (for a Server that never ran).
func (s *Server) Close() error { return s.closeAll() }
