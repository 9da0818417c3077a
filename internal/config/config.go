// Package config reads the settings of `carillon serve` from, in order of
// precedence, command-line flags, CARILLON_* environment variables and an
// optional config file, and checks them before anything starts.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3"

	"github.com/carillon-dev/carillon/internal/accounts"
	"github.com/carillon-dev/carillon/internal/events"
)

// EnvPrefix prefixes the environment variable of every setting.
const EnvPrefix = "CARILLON"

// Config is every setting of the server.
type Config struct {
	Listen    string
	PublicURL string
	DataDir   string
	Store     string // sqlite, memory, postgres
	Sync      string // FULL or NORMAL, for sqlite
	// PostgresURL is the connection string of the postgres store.
	PostgresURL              string
	PostgresSchema           string
	PostgresMaxConns         int
	PostgresStatementTimeout time.Duration

	Credentials                     string
	AccessKeyID                     string
	SecretAccessKey                 string
	AccountID                       string
	InsecureAllowDefaultCredentials bool
	TokenKeyFile                    string

	MaxAttendees      int
	MaxReplicas       int
	MaxActiveMeetings int
	IdleTimeout       time.Duration
	MaxDuration       time.Duration
	EndedRetention    time.Duration
	LifecycleInterval time.Duration

	WebhookURLs           []string
	WebhookSecret         string
	NotificationsEndpoint string
	EventBridgeBus        string
	DeliveryMaxAttempts   int
	DeliveryBackoff       time.Duration
	DeliveryMaxBackoff    time.Duration
	EventRetention        time.Duration

	QuotaPreset string
	RateLimit   float64
	RateBurst   int
	MaxInFlight int

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeoutHTTP   time.Duration
	ShutdownGrace     time.Duration

	// The media plane.
	MediaUDPPorts     string // "MIN-MAX", or one port shared by all
	MediaUDPPortMin   uint16 // derived from MediaUDPPorts by Check
	MediaUDPPortMax   uint16
	MediaAdvertiseIPs []string
	MediaLoopback     bool
	MediaDropGrace    time.Duration

	// The demo page.
	DemoSDK     string
	DemoAccount string

	MaxBody   int64
	LogFormat string
	LogLevel  string
	OpsListen string
}

// FlagSet declares every setting on a flag set bound to c, with defaults.
func (c *Config) FlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:8080", "`HOST:PORT` the API listens on")
	fs.StringVar(&c.PublicURL, "public-url", "", "`URL` clients reach this server at; MediaPlacement URLs point there (default: http://<listen>)")
	fs.StringVar(&c.DataDir, "data-dir", "carillon-data", "`DIR` for the database and the join-token keys; created on first start")
	fs.StringVar(&c.Store, "store", "sqlite", "store `KIND`: sqlite (durable, in the data directory), memory (throwaway) or postgres (several replicas)")
	fs.StringVar(&c.PostgresURL, "postgres-url", "", "PostgreSQL connection `URL` for --store postgres, e.g. postgres://carillon@db:5432/carillon")
	fs.StringVar(&c.PostgresSchema, "postgres-schema", "", "PostgreSQL `SCHEMA` to use (created if needed); default: the connection's search_path")
	fs.IntVar(&c.PostgresMaxConns, "postgres-max-conns", 20, "connections to PostgreSQL per replica (`N`)")
	fs.DurationVar(&c.PostgresStatementTimeout, "postgres-statement-timeout", 10*time.Second, "abort a PostgreSQL statement after this long (`DURATION`)")
	fs.StringVar(&c.Sync, "sqlite-sync", "FULL", "`MODE` FULL makes each acknowledged write survive power loss; NORMAL only a crash of the process")
	fs.StringVar(&c.Credentials, "credentials", "", "`FILE` of accounts and access keys (JSON); without it only the local pair test/test is accepted")
	fs.StringVar(&c.AccessKeyID, "access-key-id", "", "a single access `KEY` to accept instead of a credentials file (prefer the environment variable)")
	fs.StringVar(&c.SecretAccessKey, "secret-access-key", "", "the `SECRET` of --access-key-id (prefer the environment variable: flags show in process lists)")
	fs.StringVar(&c.AccountID, "account-id", "000000000000", "the 12-digit account `ID` of --access-key-id")
	fs.BoolVar(&c.InsecureAllowDefaultCredentials, "insecure-allow-default-credentials", false, "accept the local pair test/test on a non-loopback address")
	fs.StringVar(&c.TokenKeyFile, "token-key-file", "", "`FILE` of the join-token keys (default: <data-dir>/join-token-keys.json); replicas must share it")
	fs.IntVar(&c.MaxAttendees, "max-attendees", 250, "attendee ceiling of a meeting without MeetingFeatures.Attendee.MaxCount (`N`)")
	fs.IntVar(&c.MaxReplicas, "max-replicas", 4, "active replica meetings per primary meeting (`N`)")
	fs.IntVar(&c.MaxActiveMeetings, "max-active-meetings", 0, "active meetings per account and region (`N`); 0 means no limit")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", 5*time.Minute, "end a meeting after this long with no connected attendee (`DURATION`); 0 never")
	fs.DurationVar(&c.MaxDuration, "max-duration", 24*time.Hour, "end every meeting this long after it started (`DURATION`); 0 never")
	fs.DurationVar(&c.EndedRetention, "ended-retention", 7*24*time.Hour, "keep ended meetings visible to administrators this long (`DURATION`)")
	fs.DurationVar(&c.LifecycleInterval, "lifecycle-interval", time.Second, "how often due meetings are ended (`DURATION`)")
	fs.Func("webhook-url", "`URL` that receives every event as a signed POST; repeat the flag or separate URLs with commas", appendList(&c.WebhookURLs))
	fs.StringVar(&c.WebhookSecret, "webhook-secret", "", "`SECRET` that signs webhook requests (HMAC-SHA256); required with --webhook-url")
	fs.StringVar(&c.NotificationsEndpoint, "notifications-endpoint", "", "deliver events to the SQS queue and SNS topic a meeting's NotificationsConfiguration names (and to --eventbridge-bus): `URL` of a compatible server, or \"aws\" for AWS itself; empty: off")
	fs.StringVar(&c.EventBridgeBus, "eventbridge-bus", "", "also put every event on this EventBridge `BUS` (a name such as default, or a bus ARN) in its meeting's region, through --notifications-endpoint; empty: off")
	fs.IntVar(&c.DeliveryMaxAttempts, "delivery-max-attempts", 10, "failed attempts after which an event delivery goes to the dead-letter list (`N`)")
	fs.DurationVar(&c.DeliveryBackoff, "delivery-backoff", time.Second, "wait after a first failed delivery; doubles with each failure (`DURATION`)")
	fs.DurationVar(&c.DeliveryMaxBackoff, "delivery-max-backoff", 5*time.Minute, "longest wait between delivery attempts (`DURATION`)")
	fs.DurationVar(&c.EventRetention, "event-retention", 24*time.Hour, "keep delivered events for the live stream and inspection (`DURATION`)")
	fs.StringVar(&c.QuotaPreset, "quota-preset", "", "`PRESET` of quotas: \"aws\" sets the real service's defaults (10 requests/s with bursts of 20 per account, 250 active meetings per account and region) wherever a quota is not set explicitly")
	fs.Float64Var(&c.RateLimit, "rate-limit", 0, "requests per second per account (`N`); beyond it ThrottlingException; 0 means no limit")
	fs.IntVar(&c.RateBurst, "rate-burst", 20, "requests an account may make at once above --rate-limit (`N`)")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", 512, "requests served at once (`N`); beyond it ServiceUnavailableException with Retry-After")
	fs.DurationVar(&c.ReadHeaderTimeout, "http-read-header-timeout", 10*time.Second, "time a client has to send the request headers (`DURATION`)")
	fs.DurationVar(&c.ReadTimeout, "http-read-timeout", 30*time.Second, "time a client has to send a whole request (`DURATION`)")
	fs.DurationVar(&c.WriteTimeout, "http-write-timeout", 30*time.Second, "time to write a response (`DURATION`)")
	fs.DurationVar(&c.IdleTimeoutHTTP, "http-idle-timeout", 2*time.Minute, "how long an idle keep-alive connection stays open (`DURATION`)")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 15*time.Second, "on SIGTERM, how long requests in flight get to finish (`DURATION`)")
	fs.StringVar(&c.MediaUDPPorts, "media-udp-ports", "", "UDP `PORTS` of media connections: a range MIN-MAX, or one port that every connection shares; default: any free port")
	fs.Func("media-advertise-ip", "public `IP` to offer clients for media instead of this host's addresses (a server behind 1:1 NAT); repeat or separate with commas", appendList(&c.MediaAdvertiseIPs))
	fs.BoolVar(&c.MediaLoopback, "media-loopback", true, "offer the loopback address for media too, so browsers on this host connect")
	fs.DurationVar(&c.MediaDropGrace, "media-drop-grace", 10*time.Second, "how long an attendee whose connection broke stays in the roster, waiting for its client to reconnect (`DURATION`)")
	fs.StringVar(&c.DemoSDK, "demo-sdk", filepath.Join("web", "dist", "amazon-chime-sdk.js"), "`FILE` of the browser client bundle the /demo page loads (built by: npm --prefix web ci && npm --prefix web run build)")
	fs.StringVar(&c.DemoAccount, "demo-account", "", "12-digit account `ID` whose meetings the /demo page creates, for anyone who can reach it; \"off\" disables the page; default: on, for the local account, only when no credentials are configured")
	fs.Int64Var(&c.MaxBody, "max-body", 256<<10, "largest accepted request body, in `BYTES`")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log `FORMAT`: text or json")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log `LEVEL`: debug, info, warn or error")
	fs.StringVar(&c.OpsListen, "ops-listen", "127.0.0.1:9464", "`HOST:PORT` for health checks and the internal API; empty disables it")
	fs.String("config", "", "`FILE` of settings, one `name value` per line (or a JSON object if it ends in .json)")
	return fs
}

// Parse reads the settings from args, the environment and the config file.
// Usage goes to out when the flags are wrong or --help is given.
func Parse(name string, args []string, out io.Writer) (Config, error) {
	var c Config
	fs := c.FlagSet(name)
	fs.SetOutput(out)
	fs.Usage = func() { Usage(out, fs) }
	err := ff.Parse(fs, args,
		ff.WithEnvVarPrefix(EnvPrefix),
		ff.WithConfigFileFlag("config"),
		ff.WithConfigFileParser(configParser(fs)),
	)
	if err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if err := applyPreset(fs, c.QuotaPreset); err != nil {
		return c, err
	}
	return c, c.Check()
}

// presets are quota values that a --quota-preset applies to every setting
// that flags, the environment or the config file left unset.
func presets() map[string]map[string]string {
	return map[string]map[string]string{
		"aws": {
			"rate-limit":          "10",
			"rate-burst":          "20",
			"max-active-meetings": "250",
			"max-attendees":       "250",
			"max-replicas":        "4",
		},
	}
}

func applyPreset(fs *flag.FlagSet, name string) error {
	if name == "" {
		return nil
	}
	values, ok := presets()[name]
	if !ok {
		return fmt.Errorf("--quota-preset %q: the only preset is \"aws\"", name)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true }) // flags, environment and file alike
	for flagName, v := range values {
		if !set[flagName] {
			if err := fs.Set(flagName, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// configParser picks the config file format by the file's extension.
func configParser(fs *flag.FlagSet) ff.ConfigFileParser {
	return func(r io.Reader, set func(name, value string) error) error {
		if f := fs.Lookup("config"); f != nil && strings.EqualFold(filepath.Ext(f.Value.String()), ".json") {
			return ff.JSONParser(r, set)
		}
		return ff.PlainParser(r, set)
	}
}

// Usage prints every setting with its environment variable and default.
func Usage(out io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(out, "Usage: carillon %s [flags]\n\n", fs.Name())
	fmt.Fprintf(out, "Every flag can also be set by the environment variable shown, or in the file\n")
	fmt.Fprintf(out, "given by --config. Flags win over the environment, which wins over the file.\n\n")
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(out, "  --%s %s\n", f.Name, kind)
		fmt.Fprintf(out, "        %s\n", usage)
		env := EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			fmt.Fprintf(out, "        env %s, default %s\n", env, f.DefValue)
		} else {
			fmt.Fprintf(out, "        env %s\n", env)
		}
	})
}

// Check validates the settings and fills in derived defaults.
func (c *Config) Check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("--listen %q: want HOST:PORT", c.Listen)
	}
	if c.OpsListen != "" {
		if _, _, err := net.SplitHostPort(c.OpsListen); err != nil {
			bad("--ops-listen %q: want HOST:PORT", c.OpsListen)
		}
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		switch {
		case err != nil || u.Host == "":
			bad("--public-url %q: want an absolute URL such as https://meetings.example.com", c.PublicURL)
		case u.Scheme != "http" && u.Scheme != "https":
			bad("--public-url %q: the scheme must be http or https", c.PublicURL)
		case u.RawQuery != "" || u.Fragment != "":
			bad("--public-url %q: must not have a query or fragment (clients append their own)", c.PublicURL)
		}
	}
	switch c.Store {
	case "sqlite":
		if c.DataDir == "" {
			bad("--data-dir must not be empty with --store sqlite")
		}
	case "memory":
	case "postgres":
		if c.PostgresURL == "" {
			bad("--store postgres needs --postgres-url (or CARILLON_POSTGRES_URL)")
		}
		if c.PostgresMaxConns < 2 {
			bad("--postgres-max-conns %d: want at least 2", c.PostgresMaxConns)
		}
		if c.PostgresStatementTimeout <= 0 {
			bad("--postgres-statement-timeout %s: must be positive", c.PostgresStatementTimeout)
		}
	default:
		bad("--store %q: want sqlite, memory or postgres", c.Store)
	}
	c.Sync = strings.ToUpper(c.Sync)
	if c.Sync != "FULL" && c.Sync != "NORMAL" {
		bad("--sqlite-sync %q: want FULL or NORMAL", c.Sync)
	}
	if c.MaxAttendees < 1 || c.MaxAttendees > 250 {
		bad("--max-attendees %d: want 1 to 250, the API's own bound", c.MaxAttendees)
	}
	if c.MaxReplicas < 0 {
		bad("--max-replicas %d: must not be negative", c.MaxReplicas)
	}
	if c.MaxActiveMeetings < 0 {
		bad("--max-active-meetings %d: must not be negative", c.MaxActiveMeetings)
	}
	for name, d := range map[string]time.Duration{"--idle-timeout": c.IdleTimeout, "--max-duration": c.MaxDuration, "--ended-retention": c.EndedRetention} {
		if d < 0 {
			bad("%s %s: must not be negative", name, d)
		}
	}
	if c.LifecycleInterval < 10*time.Millisecond {
		bad("--lifecycle-interval %s: want at least 10ms", c.LifecycleInterval)
	}
	for _, u := range c.WebhookURLs {
		if !isHTTPURL(u) {
			bad("--webhook-url %q: want an http or https URL", u)
		}
	}
	if len(c.WebhookURLs) > 0 && c.WebhookSecret == "" {
		bad("--webhook-secret is required with --webhook-url: receivers need it to verify requests")
	}
	if e := c.NotificationsEndpoint; e != "" && e != "aws" {
		if !isHTTPURL(e) {
			bad("--notifications-endpoint %q: want \"aws\" or an http(s) URL", e)
		}
	}
	if b := c.EventBridgeBus; b != "" {
		switch {
		case c.NotificationsEndpoint == "":
			bad("--eventbridge-bus needs --notifications-endpoint: the EventBridge-compatible server to deliver to")
		case c.NotificationsEndpoint == "aws":
			// EventBridge keeps sources that begin with "aws." to AWS's own
			// services: it would refuse every event, each to be retried.
			bad("--eventbridge-bus with --notifications-endpoint aws: AWS EventBridge accepts events of the source aws.chime only from the service itself; use an EventBridge-compatible server (LocalStack, moto)")
		default:
			if err := events.CheckEventBus(b); err != nil {
				bad("--eventbridge-bus %q: %v", b, err)
			}
		}
	}
	if c.DeliveryMaxAttempts < 1 {
		bad("--delivery-max-attempts %d: want at least 1", c.DeliveryMaxAttempts)
	}
	if c.DeliveryBackoff <= 0 || c.DeliveryMaxBackoff < c.DeliveryBackoff {
		bad("--delivery-backoff %s and --delivery-max-backoff %s: want 0 < backoff <= max", c.DeliveryBackoff, c.DeliveryMaxBackoff)
	}
	if c.EventRetention < 0 {
		bad("--event-retention %s: must not be negative", c.EventRetention)
	}
	if c.RateLimit < 0 || c.RateBurst < 1 {
		bad("--rate-limit %v and --rate-burst %d: want a rate of at least 0 and a burst of at least 1", c.RateLimit, c.RateBurst)
	}
	if c.MaxInFlight < 1 {
		bad("--max-in-flight %d: want at least 1", c.MaxInFlight)
	}
	for name, d := range map[string]time.Duration{"--http-read-header-timeout": c.ReadHeaderTimeout, "--http-read-timeout": c.ReadTimeout,
		"--http-write-timeout": c.WriteTimeout, "--http-idle-timeout": c.IdleTimeoutHTTP, "--shutdown-grace": c.ShutdownGrace} {
		if d <= 0 {
			bad("%s %s: must be positive", name, d)
		}
	}
	if c.MediaUDPPorts != "" {
		minPort, maxPort, err := parsePorts(c.MediaUDPPorts)
		if err != nil {
			bad("--media-udp-ports %q: %v", c.MediaUDPPorts, err)
		}
		c.MediaUDPPortMin, c.MediaUDPPortMax = minPort, maxPort
	}
	for _, ip := range c.MediaAdvertiseIPs {
		if net.ParseIP(ip) == nil {
			bad("--media-advertise-ip %q: want an IP address", ip)
		}
	}
	if c.MediaDropGrace <= 0 {
		bad("--media-drop-grace %s: must be positive", c.MediaDropGrace)
	}
	if c.DemoAccount != "" && c.DemoAccount != "off" && !accounts.IsAccountID(c.DemoAccount) {
		bad("--demo-account %q: want a 12-digit account ID or \"off\"", c.DemoAccount)
	}
	if c.MaxBody < 1024 {
		bad("--max-body %d: want at least 1024", c.MaxBody)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("--log-format %q: want text or json", c.LogFormat)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	if c.Credentials != "" && c.AccessKeyID != "" {
		bad("--credentials and --access-key-id are exclusive: put every key in the file")
	}
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		bad("--access-key-id and --secret-access-key go together")
	}
	if c.TokenKeyFile == "" && c.Store != "memory" {
		c.TokenKeyFile = filepath.Join(c.DataDir, "join-token-keys.json")
	}
	return errors.Join(errs...)
}

// appendList returns a flag function that adds the comma-separated values
// of each use of a repeatable flag to a list.
func appendList(list *[]string) func(string) error {
	return func(v string) error {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				*list = append(*list, item)
			}
		}
		return nil
	}
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// parsePorts reads "MIN-MAX" or a single port.
func parsePorts(v string) (uint16, uint16, error) {
	lo, hi, isRange := strings.Cut(v, "-")
	minPort, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	maxPort, err2 := minPort, error(nil)
	if isRange {
		maxPort, err2 = strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
	}
	switch {
	case err1 != nil || err2 != nil || minPort == 0 || maxPort == 0:
		return 0, 0, errors.New("want a port (1-65535) or a range MIN-MAX")
	case maxPort < minPort:
		return 0, 0, errors.New("the range ends before it starts")
	}
	return uint16(minPort), uint16(maxPort), nil
}

// PublicBase returns the public URL, defaulting to http://<listen>.
func (c *Config) PublicBase(listenAddr string) *url.URL {
	if c.PublicURL != "" {
		u, _ := url.Parse(c.PublicURL) // checked by Check
		return u
	}
	host, port, _ := net.SplitHostPort(listenAddr)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort(host, port)}
}

// IsLoopback reports whether a listen address accepts only local connections.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
