// Package api serves the Chime SDK Meetings API over HTTP in the rest-json
// protocol: it authenticates each request (SigV4), routes it by method, path
// and `?operation=`, decodes it, calls the meetings service, and writes the
// result or an AWS-shaped error. Every request gets an answer in the AWS wire
// format, whatever it holds.
package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/carillon-dev/carillon/internal/accounts"
	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/sigv4"
)

// DefaultMaxBody bounds request bodies. The largest valid request (100
// attendees with capabilities, or 250 excluded IDs) is far smaller.
const DefaultMaxBody = 256 << 10

// Observer is told about requests (for metrics).
type Observer interface {
	ObserveRequest(operation string, status int, errorShape string, d time.Duration)
	ObserveThrottled(accountID string)
	AddInFlight(delta float64)
}

// Limiter decides whether an account may make another request now.
type Limiter interface {
	Allow(accountID string) bool
}

// statusClientClosed is logged for a request whose client went away before
// the answer (nginx's 499).
const statusClientClosed = 499

// DefaultMaxInFlight bounds the requests served at once.
const DefaultMaxInFlight = 512

// Config builds a Handler.
type Config struct {
	Service  *meetings.Service
	Verifier *sigv4.Verifier
	Accounts *accounts.Registry
	Log      *slog.Logger
	MaxBody  int64
	// MaxInFlight bounds concurrent requests; beyond it the server answers
	// ServiceUnavailableException at once instead of slowing everyone down.
	MaxInFlight int
	Limiter     Limiter  // optional: the per-account request rate
	Observer    Observer // optional
}

// Handler is the API's http.Handler.
type Handler struct {
	svc      *meetings.Service
	verifier *sigv4.Verifier
	accounts *accounts.Registry
	log      *slog.Logger
	maxBody  int64
	limiter  Limiter
	observer Observer
	routes   []route
	slots    chan struct{}
	draining atomic.Bool
}

// New returns the API handler.
func New(cfg Config) *Handler {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	return &Handler{
		svc:      cfg.Service,
		verifier: cfg.Verifier,
		accounts: cfg.Accounts,
		log:      cfg.Log,
		maxBody:  cfg.MaxBody,
		limiter:  cfg.Limiter,
		observer: cfg.Observer,
		routes:   apiRoutes(),
		slots:    make(chan struct{}, cfg.MaxInFlight),
	}
}

type nopObserver struct{}

func (nopObserver) ObserveRequest(string, int, string, time.Duration) {}
func (nopObserver) ObserveThrottled(string)                           {}
func (nopObserver) AddInFlight(float64)                               {}

// Drain makes the handler refuse new requests with ServiceUnavailable (and
// Retry-After), for a graceful shutdown: requests already being served
// finish, clients retry elsewhere or after the restart.
func (h *Handler) Drain() { h.draining.Store(true) }

// call is one decoded request on its way to an operation.
type call struct {
	caller meetings.Caller
	params pathParams
	req    *http.Request
	body   []byte
}

// result is what an operation answers: a status and a body to encode (nil
// for none).
type result struct {
	status int
	body   any
}

// opFunc serves one operation.
type opFunc func(h *Handler, ctx context.Context, c *call) (result, error)

// ServeHTTP answers one API request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, requestID: uuid.NewString(), operation: "Unknown"}
	w.Header().Set("x-amzn-RequestId", rec.requestID)
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p) // the client went away: let net/http handle it
			}
			h.log.ErrorContext(r.Context(), "panic serving request", "request_id", rec.requestID,
				"operation", rec.operation, "panic", p, "stack", string(debug.Stack()))
			if !rec.wroteHeader {
				h.writeError(rec, apierr.As(nil))
			}
		}
		h.finish(r, rec, time.Since(start))
	}()
	if h.draining.Load() {
		h.writeError(rec, apierr.New(apierr.ServiceUnavailable, "The server is shutting down; retry the request"))
		return
	}
	select {
	case h.slots <- struct{}{}:
		h.observer.AddInFlight(1)
		defer func() {
			<-h.slots
			h.observer.AddInFlight(-1)
		}()
	default:
		h.writeError(rec, apierr.New(apierr.ServiceUnavailable, "The server is busy; retry the request"))
		return
	}
	res, err := h.serve(r, rec)
	if err != nil {
		if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
			rec.status, rec.errorCode = statusClientClosed, "" // the client went away: no one to answer
			return
		}
		h.writeError(rec, apierr.As(err))
		if ae := apierr.As(err); ae.Kind == apierr.ServiceFailure {
			rec.internal = err
		}
		return
	}
	h.writeResult(rec, res)
}

func (h *Handler) serve(r *http.Request, rec *recorder) (result, error) {
	body, err := readBody(rec, r, h.maxBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return result{}, apierr.BadRequestf("The request body exceeds the limit of %d bytes", h.maxBody)
		}
		return result{}, apierr.BadRequestf("The request body could not be read")
	}
	auth, err := h.verifier.Verify(r, body)
	if err != nil {
		var se *sigv4.Error
		if errors.As(err, &se) && se.Kind == sigv4.Forbidden {
			return result{}, apierr.New(apierr.Forbidden, "%s", se.Message)
		}
		if se != nil {
			return result{}, apierr.New(apierr.Unauthorized, "%s", se.Message)
		}
		return result{}, err
	}
	rec.accountID = auth.Credential.AccountID

	rt, params, allowed := resolve(h.routes, r.Method, r.URL)
	if rt == nil {
		if len(allowed) > 0 && !slices.Contains(allowed, r.Method) {
			rec.Header().Set("Allow", strings.Join(allowed, ", "))
			return result{}, &apierr.Error{Kind: apierr.UnknownOperation,
				Message: "Method " + r.Method + " is not allowed on " + r.URL.Path}
		}
		return result{}, apierr.New(apierr.UnknownOperation, "No operation matches %s %s", r.Method, r.URL.Path)
	}
	rec.operation = rt.name
	if h.limiter != nil && !h.limiter.Allow(auth.Credential.AccountID) {
		h.observer.ObserveThrottled(auth.Credential.AccountID)
		return result{}, apierr.New(apierr.Throttling, "Rate exceeded")
	}
	if !h.accounts.Allowed(auth.Credential.AccessKeyID, rt.name) {
		return result{}, apierr.New(apierr.Forbidden,
			"Access key %s of account %s is not authorized to perform: chime:%s", auth.Credential.AccessKeyID, auth.Credential.AccountID, rt.name)
	}
	c := &call{
		caller: meetings.Caller{AccountID: auth.Credential.AccountID, Region: auth.Region},
		params: params,
		req:    r,
		body:   body,
	}
	return rt.serve(h, r.Context(), c)
}

// readBody reads the request's body whole, up to limit bytes. A body that
// declares a length up to exactBody is read into a buffer of that length
// (io.ReadAll starts at 512 bytes and grows, and allocates even for no
// body); a longer one, or one of unknown length, through the limit into a
// buffer that grows with what arrives, so that a client declaring a large
// body and sending nothing holds no more than that.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	switch n := r.ContentLength; {
	case n == 0:
		return nil, nil
	case n > 0 && n <= min(limit, exactBody):
		body := make([]byte, n)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	default:
		return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	}
}

// exactBody is the largest declared body read into a buffer of its length
// before it arrives; a batch of 100 attendees takes about 6 KiB.
const exactBody = 64 << 10

// finish logs the request and tells the observer.
func (h *Handler) finish(r *http.Request, rec *recorder, d time.Duration) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	h.observer.ObserveRequest(rec.operation, status, rec.errorCode, d)
	level := slog.LevelInfo
	if rec.internal != nil {
		level = slog.LevelError
	}
	if !h.log.Enabled(r.Context(), level) {
		return // the line's attributes cost an allocation per request
	}
	attrs := []slog.Attr{
		slog.String("request_id", rec.requestID),
		slog.String("operation", rec.operation),
		slog.String("method", r.Method),
		slog.Int("status", status),
		slog.Duration("duration", d),
	}
	if rec.accountID != "" {
		attrs = append(attrs, slog.String("account", rec.accountID))
	}
	if rec.errorCode != "" {
		attrs = append(attrs, slog.String("error", rec.errorCode))
	}
	if rec.internal != nil {
		attrs = append(attrs, slog.String("cause", rec.internal.Error()))
	}
	h.log.LogAttrs(r.Context(), level, "request", attrs...)
}

// recorder remembers what was written, for the log line and metrics.
type recorder struct {
	http.ResponseWriter
	requestID   string
	operation   string
	accountID   string
	status      int
	errorCode   string
	wroteHeader bool
	internal    error
}

func (r *recorder) WriteHeader(status int) {
	if r.wroteHeader {
		return
	}
	r.status, r.wroteHeader = status, true
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// retryAfter is sent with ServiceUnavailable when the error does not say.
const retryAfter = 1

func retryAfterHeader(e *apierr.Error) string {
	if e.RetryAfterSeconds > 0 {
		return strconv.Itoa(e.RetryAfterSeconds)
	}
	return strconv.Itoa(retryAfter)
}
