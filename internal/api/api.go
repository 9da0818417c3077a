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

// Observer is told about every finished request (for metrics).
type Observer interface {
	ObserveRequest(operation string, status int, errorCode string, d time.Duration)
}

// Config builds a Handler.
type Config struct {
	Service  *meetings.Service
	Verifier *sigv4.Verifier
	Accounts *accounts.Registry
	Log      *slog.Logger
	MaxBody  int64
	Observer Observer // optional
}

// Handler is the API's http.Handler.
type Handler struct {
	svc      *meetings.Service
	verifier *sigv4.Verifier
	accounts *accounts.Registry
	log      *slog.Logger
	maxBody  int64
	observer Observer
	routes   []route
}

// New returns the API handler.
func New(cfg Config) *Handler {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Handler{
		svc:      cfg.Service,
		verifier: cfg.Verifier,
		accounts: cfg.Accounts,
		log:      cfg.Log,
		maxBody:  cfg.MaxBody,
		observer: cfg.Observer,
		routes:   apiRoutes(),
	}
}

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
	res, err := h.serve(r, rec)
	if err != nil {
		h.writeError(rec, apierr.As(err))
		if ae := apierr.As(err); ae.Kind == apierr.ServiceFailure {
			rec.internal = err
		}
		return
	}
	h.writeResult(rec, res)
}

func (h *Handler) serve(r *http.Request, rec *recorder) (result, error) {
	body, err := io.ReadAll(http.MaxBytesReader(rec, r.Body, h.maxBody))
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

// finish logs the request and tells the observer.
func (h *Handler) finish(r *http.Request, rec *recorder, d time.Duration) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
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
	level := slog.LevelInfo
	if rec.errorCode != "" {
		attrs = append(attrs, slog.String("error", rec.errorCode))
	}
	if rec.internal != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.String("cause", rec.internal.Error()))
	}
	h.log.LogAttrs(r.Context(), level, "request", attrs...)
	if h.observer != nil {
		h.observer.ObserveRequest(rec.operation, status, rec.errorCode, d)
	}
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
