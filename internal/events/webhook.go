package events

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/carillon-dev/carillon/internal/store"
)

// Webhook request headers. The signature covers the timestamp and the body,
// so a receiver can check both who sent a request and that it is fresh.
const (
	HeaderSignature = "X-Carillon-Signature" // "v1=" + hex(HMAC-SHA256(secret, timestamp + "." + body))
	HeaderTimestamp = "X-Carillon-Timestamp" // Unix seconds
	HeaderEventID   = "X-Carillon-Event-Id"  // the event's id: receivers deduplicate on it
	HeaderEventType = "X-Carillon-Event-Type"
)

// Webhook POSTs events to URLs, signed with a shared secret.
type Webhook struct {
	client *http.Client
	secret []byte
	now    func() time.Time
	agent  string
}

// maxIdleConnsPerReceiver is above the dispatcher's default concurrency.
const maxIdleConnsPerReceiver = 64

// NewWebhook returns a webhook sink. Redirects are not followed: a receiver
// that moved must be reconfigured, not silently chased.
func NewWebhook(secret, userAgent string, timeout time.Duration) *Webhook {
	// The default transport keeps 2 idle connections per host: with a
	// dispatcher delivering to many meetings at once, every other request
	// would open (and leave in TIME_WAIT) a connection of its own.
	transport := &http.Transport{Proxy: http.ProxyFromEnvironment}
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		transport = t.Clone()
	}
	transport.MaxIdleConnsPerHost = maxIdleConnsPerReceiver
	return &Webhook{
		client: &http.Client{
			Transport:     transport,
			Timeout:       timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		secret: []byte(secret),
		now:    time.Now,
		agent:  userAgent,
	}
}

// Sign returns the signature header value of a body sent at ts.
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Deliver POSTs the event; any 2xx answer is a delivery.
func (w *Webhook) Deliver(ctx context.Context, url string, e store.Event) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(e.Payload))
	if err != nil {
		return err
	}
	ts := w.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", w.agent)
	req.Header.Set(HeaderEventID, e.ID)
	req.Header.Set(HeaderEventType, e.Type)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(w.secret, ts, e.Payload))
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // drained for connection reuse
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// Errors of VerifyWebhook.
var (
	ErrBadSignature = errors.New("webhook signature does not match")
	ErrStale        = errors.New("webhook timestamp is outside the tolerance")
)

// VerifyWebhook is what a receiver runs on each request: the signature must
// match the body and timestamp, and the timestamp must be within tolerance
// of now (which stops replays of old requests). Receivers should also
// deduplicate on the event ID, since delivery is at least once.
func VerifyWebhook(secret []byte, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(header.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	want := Sign(secret, ts, body)
	got := header.Get(HeaderSignature)
	if !hmac.Equal([]byte(strings.TrimSpace(got)), []byte(want)) {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}
