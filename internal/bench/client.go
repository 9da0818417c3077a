// Package bench is Carillon's load generator: it drives an operation mix
// against any endpoint of the API, signing every request with SigV4 as an
// SDK does, and measures throughput and latency per operation, next to the
// ceiling of the machine for the same request bodies.
package bench

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/carillon-dev/carillon/internal/sigv4"
)

// Client sends signed API requests. On a machine it shares with the server
// it measures, every microsecond the generator spends is one the server
// does not get, so it sends with fasthttp (no goroutines or allocations
// per request) and signs with a signer that keeps the day's key.
type Client struct {
	http   *fasthttp.HostClient
	base   string // scheme://host and any path prefix of the endpoint
	host   string
	prefix string
	signer *sigv4.Signer
}

// NewClient returns a client for endpoint with room for conns connections.
func NewClient(endpoint, accessKey, secret, region string, conns int) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(endpoint, "/"))
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", endpoint, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("endpoint %q: want http(s)://host[:port][/path]", endpoint)
	}
	addr := u.Host
	if u.Port() == "" {
		addr += map[string]string{"http": ":80", "https": ":443"}[u.Scheme]
	}
	return &Client{
		http: &fasthttp.HostClient{
			Addr:                addr,
			IsTLS:               u.Scheme == "https",
			MaxConns:            conns * 2,
			MaxIdleConnDuration: 90 * time.Second,
			// The path goes out as it was signed: no decoding, no
			// collapsing of "//" or dot segments.
			DisablePathNormalizing:   true,
			ReadTimeout:              30 * time.Second,
			WriteTimeout:             30 * time.Second,
			NoDefaultUserAgentHeader: true,
		},
		base:   u.Scheme + "://" + u.Host + u.EscapedPath(),
		host:   strings.ToLower(u.Host), // as fasthttp sends it
		prefix: u.EscapedPath(),
		signer: sigv4.NewSigner(accessKey, secret, region, "chime"),
	}, nil
}

// Close releases the client's idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// APIError is an error answer of the API.
type APIError struct {
	Status int
	Shape  string
}

func (e *APIError) Error() string { return fmt.Sprintf("%s (%d)", e.Shape, e.Status) }

// errBadAnswer is a success answer whose body is not the JSON expected.
var errBadAnswer = errors.New("the answer is not JSON")

// Do sends one signed request (target is the path and query under the
// endpoint) and decodes a JSON answer into out; with out nil the answer is
// only checked to be JSON. Errors answered by the API are *APIError. A
// request is given 30 s; none is sent once ctx has ended, and one in
// flight then runs to its end.
func (c *Client) Do(ctx context.Context, method, target string, body []byte, out any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	path, query, _ := strings.Cut(target, "?")
	r := sigv4.Request{Method: method, Host: c.host, Path: c.prefix + path, RawQuery: query, PayloadHash: sha256.Sum256(body)}
	if body != nil {
		r.ContentType, r.ContentLength = "application/json", len(body)
	}
	date, authz, err := c.signer.Sign(&r, time.Now())
	if err != nil {
		return err
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(c.base + target)
	req.Header.Set("X-Amz-Date", date)
	req.Header.Set("Authorization", authz)
	if body != nil {
		req.Header.SetContentType(r.ContentType)
		req.SetBodyRaw(body)
	}
	if err := c.http.DoTimeout(req, resp, 30*time.Second); err != nil {
		return err
	}
	if status := resp.StatusCode(); status >= 300 {
		shape := string(resp.Header.Peek("x-amzn-ErrorType"))
		if shape == "" {
			shape = fmt.Sprintf("HTTP %d", status)
		}
		return &APIError{Status: status, Shape: shape}
	}
	b := resp.Body()
	switch {
	case len(b) == 0:
		return nil
	case out != nil:
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%w: %v", errBadAnswer, err)
		}
	case !json.Valid(b):
		return errBadAnswer
	}
	return nil
}
