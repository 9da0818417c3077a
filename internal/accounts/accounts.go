// Package accounts knows the principals that may call the API: their access
// keys, the account each belongs to, and which operations each may call.
package accounts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"

	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/sigv4"
)

// Principal is one access key and what it may do.
type Principal struct {
	AccountID       string   `json:"accountId"`
	AccessKeyID     string   `json:"accessKeyId"`
	SecretAccessKey string   `json:"secretAccessKey"`
	SessionToken    string   `json:"sessionToken,omitempty"`
	Allow           []string `json:"allow,omitempty"` // operations; absent means all
}

// File is the credentials file: {"accounts": [Principal, ...]}.
type File struct {
	Accounts []Principal `json:"accounts"`
}

// LocalPrincipal is the well-known pair a server without configured
// credentials accepts, like other AWS emulators: access key "test", secret
// "test", account 000000000000.
func LocalPrincipal() Principal {
	return Principal{AccountID: "000000000000", AccessKeyID: "test", SecretAccessKey: "test"}
}

// Registry finds principals by access key ID. It is immutable.
type Registry struct {
	byKey map[string]Principal
	local bool
}

var _ sigv4.Credentials = (*Registry)(nil)

var (
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	accessKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_+=,.@-]{1,128}$`)
)

// New checks the principals and builds a registry.
func New(principals []Principal) (*Registry, error) {
	if len(principals) == 0 {
		return nil, fmt.Errorf("no accounts configured")
	}
	known := model.Operations()
	r := &Registry{byKey: make(map[string]Principal, len(principals))}
	for i, p := range principals {
		where := fmt.Sprintf("account %d (%s)", i+1, p.AccessKeyID)
		switch {
		case !accountIDPattern.MatchString(p.AccountID):
			return nil, fmt.Errorf("%s: accountId must be 12 digits", where)
		case !accessKeyPattern.MatchString(p.AccessKeyID):
			return nil, fmt.Errorf("%s: accessKeyId must be 1 to 128 letters, digits or _+=,.@-", where)
		case p.SecretAccessKey == "":
			return nil, fmt.Errorf("%s: secretAccessKey is required", where)
		}
		if _, dup := r.byKey[p.AccessKeyID]; dup {
			return nil, fmt.Errorf("%s: the access key ID appears twice", where)
		}
		for _, op := range p.Allow {
			if !slices.Contains(known, op) {
				return nil, fmt.Errorf("%s: allow: unknown operation %q (known: %v)", where, op, known)
			}
		}
		if p.Allow != nil {
			p.Allow = slices.Clone(p.Allow)
			sort.Strings(p.Allow)
		}
		r.byKey[p.AccessKeyID] = p
	}
	return r, nil
}

// NewLocal returns the registry of a server with no configured credentials.
func NewLocal() *Registry {
	r, _ := New([]Principal{LocalPrincipal()}) // constant input: cannot fail
	r.local = true
	return r
}

// IsLocal reports whether only the well-known local pair is accepted.
func (r *Registry) IsLocal() bool { return r.local }

// IsAccountID says whether s is a 12-digit account ID.
func IsAccountID(s string) bool { return accountIDPattern.MatchString(s) }

// LoadFile reads a credentials file.
func LoadFile(path string) (*Registry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a misspelt "allow" must not grant everything
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("credentials file %s: %w", path, err)
	}
	r, err := New(f.Accounts)
	if err != nil {
		return nil, fmt.Errorf("credentials file %s: %w", path, err)
	}
	return r, nil
}

// Lookup implements sigv4.Credentials.
func (r *Registry) Lookup(accessKeyID string) (sigv4.Credential, bool) {
	p, ok := r.byKey[accessKeyID]
	if !ok {
		return sigv4.Credential{}, false
	}
	return sigv4.Credential{
		AccessKeyID:     p.AccessKeyID,
		SecretAccessKey: p.SecretAccessKey,
		SessionToken:    p.SessionToken,
		AccountID:       p.AccountID,
	}, true
}

// Allowed reports whether the access key may call the operation.
func (r *Registry) Allowed(accessKeyID, operation string) bool {
	p, ok := r.byKey[accessKeyID]
	if !ok {
		return false
	}
	if p.Allow == nil {
		return true
	}
	_, found := slices.BinarySearch(p.Allow, operation)
	return found
}

// Accounts returns the distinct account IDs, sorted.
func (r *Registry) Accounts() []string {
	var ids []string
	for _, p := range r.byKey {
		if !slices.Contains(ids, p.AccountID) {
			ids = append(ids, p.AccountID)
		}
	}
	sort.Strings(ids)
	return ids
}
