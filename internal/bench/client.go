// Package bench is Carillon's load generator: it drives an operation mix
// against any endpoint of the API, signing every request with SigV4 as an
// SDK does, and measures throughput and latency per operation, next to the
// ceiling of the machine for the same request bodies.
package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Client sends signed API requests.
type Client struct {
	endpoint string
	http     *http.Client
	signer   *v4.Signer
	creds    aws.Credentials
	region   string
}

// NewClient returns a client for endpoint with room for conns connections.
func NewClient(endpoint, accessKey, secret, region string, conns int) *Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Client{
		endpoint: strings.TrimSuffix(endpoint, "/"),
		http:     &http.Client{Transport: tr, Timeout: 30 * time.Second},
		signer:   v4.NewSigner(),
		creds:    aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secret},
		region:   region,
	}
}

// Close releases the client's idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// APIError is an error answer of the API.
type APIError struct {
	Status int
	Shape  string
}

func (e *APIError) Error() string { return fmt.Sprintf("%s (%d)", e.Shape, e.Status) }

// Do sends one signed request and decodes a JSON answer into out (when not
// nil). Errors answered by the API are *APIError.
func (c *Client) Do(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hex.EncodeToString(sum[:]), "chime", c.region, time.Now()); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		shape := resp.Header.Get("x-amzn-ErrorType")
		if shape == "" {
			shape = "HTTP" + resp.Status
		}
		return &APIError{Status: resp.StatusCode, Shape: shape}
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}
