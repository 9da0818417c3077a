// Package token mints and checks the capabilities Carillon hands out: join
// tokens for attendees and sealed cursors (NextToken) for paging. Both are
// HMACs under secret keys that live outside the database, so a copy of the
// database yields neither.
package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/carillon-dev/carillon/internal/hmacpool"
)

// keyFileVersion is the format of the key file.
const keyFileVersion = 1

// secretSize is the length of every key, in bytes.
const secretSize = 32

// Key is one secret of the keyring.
type Key struct {
	ID        uint32    `json:"id"`
	Secret    []byte    `json:"secret"` // base64 in the file
	CreatedAt time.Time `json:"createdAt"`
}

type keyFile struct {
	Version  int    `json:"version"`
	ActiveID uint32 `json:"activeKeyId"`
	Keys     []Key  `json:"keys"`
}

// derived holds the per-purpose keys of one secret, so that a join token
// and a cursor can never be confused even if their inputs collide.
type derived struct {
	cursor []byte
	// join keeps HMAC states keyed with the join sub-key: minting (every
	// attendee a request returns) allocates nothing for the MAC.
	join *hmacpool.Pool
}

// Keyring holds the keys: the active one mints, every one verifies. Keys are
// rotated by adding a new active key; tokens minted under older keys stay
// valid until those keys are retired.
type Keyring struct {
	path string // empty for an ephemeral keyring

	mu       sync.RWMutex
	activeID uint32
	keys     map[uint32]derived

	reloadMu   sync.Mutex
	lastReload time.Time
}

// minReloadInterval bounds how often unknown key IDs in presented tokens can
// make the keyring read its file.
const minReloadInterval = time.Second

// reloadForUnknownKey reloads the key file unless that was done very
// recently, so forged tokens cannot turn into a stream of file reads.
func (kr *Keyring) reloadForUnknownKey() {
	kr.reloadMu.Lock()
	defer kr.reloadMu.Unlock()
	if time.Since(kr.lastReload) < minReloadInterval {
		return
	}
	kr.lastReload = time.Now()
	_ = kr.Reload() // a broken file keeps the keys already loaded
}

func derive(secret []byte) derived {
	sub := func(label string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	return derived{cursor: sub("carillon cursor v1"), join: hmacpool.New(sub("carillon join token v1"))}
}

// Ephemeral returns a keyring with one random key that is kept nowhere: its
// tokens die with the process. For throwaway in-memory servers and tests.
func Ephemeral() (*Keyring, error) {
	k, err := newKey(1)
	if err != nil {
		return nil, err
	}
	return fromFile("", &keyFile{Version: keyFileVersion, ActiveID: 1, Keys: []Key{k}})
}

func newKey(id uint32) (Key, error) {
	secret := make([]byte, secretSize)
	if _, err := io.ReadFull(rand.Reader, secret); err != nil {
		return Key{}, err
	}
	return Key{ID: id, Secret: secret, CreatedAt: time.Now().UTC()}, nil
}

// Open loads the keyring at path, creating it with one fresh key (file mode
// 0600) when the file does not exist.
func Open(path string) (*Keyring, error) {
	kf, err := readKeyFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, kerr := newKey(1)
		if kerr != nil {
			return nil, kerr
		}
		kf = &keyFile{Version: keyFileVersion, ActiveID: 1, Keys: []Key{k}}
		if err := writeKeyFile(path, kf, true); err != nil {
			if !errors.Is(err, os.ErrExist) {
				return nil, err
			}
			// Another process created it first: use theirs.
			if kf, err = readKeyFile(path); err != nil {
				return nil, err
			}
		}
	} else if err != nil {
		return nil, err
	}
	return fromFile(path, kf)
}

func fromFile(path string, kf *keyFile) (*Keyring, error) {
	kr := &Keyring{path: path}
	if err := kr.set(kf); err != nil {
		return nil, err
	}
	return kr, nil
}

func (kr *Keyring) set(kf *keyFile) error {
	keys := make(map[uint32]derived, len(kf.Keys))
	for _, k := range kf.Keys {
		if len(k.Secret) < secretSize {
			return fmt.Errorf("key file %s: key %d is shorter than %d bytes", kr.path, k.ID, secretSize)
		}
		keys[k.ID] = derive(k.Secret)
	}
	if _, ok := keys[kf.ActiveID]; !ok {
		return fmt.Errorf("key file %s: active key %d is not in the file", kr.path, kf.ActiveID)
	}
	kr.mu.Lock()
	kr.activeID, kr.keys = kf.ActiveID, keys
	kr.mu.Unlock()
	return nil
}

// Reload reads the key file again, picking up a rotation made by another
// process (`carillon keys rotate`).
func (kr *Keyring) Reload() error {
	if kr.path == "" {
		return nil
	}
	kf, err := readKeyFile(kr.path)
	if err != nil {
		return err
	}
	return kr.set(kf)
}

// ActiveID returns the ID of the key that mints new tokens.
func (kr *Keyring) ActiveID() uint32 {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.activeID
}

func (kr *Keyring) key(id uint32) (derived, bool) {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	d, ok := kr.keys[id]
	return d, ok
}

func (kr *Keyring) active() (uint32, derived) {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.activeID, kr.keys[kr.activeID]
}

func readKeyFile(path string) (*keyFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if kf.Version != keyFileVersion {
		return nil, fmt.Errorf("key file %s: unsupported version %d", path, kf.Version)
	}
	return &kf, nil
}

// writeKeyFile writes the key file atomically with mode 0600. With exclusive
// set it fails with os.ErrExist if the file already exists.
func writeKeyFile(path string, kf *keyFile, exclusive bool) error {
	b, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keys-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if exclusive {
		// A hard link fails if path exists, where rename would replace it.
		return os.Link(tmp.Name(), path)
	}
	return os.Rename(tmp.Name(), path)
}

// Rotate adds a new key to the key file at path and makes it the active one.
// Running servers pick it up on Reload (SIGHUP) or when they meet a token of
// a key they do not know yet.
func Rotate(path string) (uint32, error) {
	kf, err := readKeyFile(path)
	if err != nil {
		return 0, err
	}
	var next uint32 = 1
	for _, k := range kf.Keys {
		next = max(next, k.ID+1)
	}
	k, err := newKey(next)
	if err != nil {
		return 0, err
	}
	kf.Keys = append(kf.Keys, k)
	kf.ActiveID = next
	return next, writeKeyFile(path, kf, false)
}

// Retire removes a key that is not active; every token it minted stops
// working.
func Retire(path string, id uint32) error {
	kf, err := readKeyFile(path)
	if err != nil {
		return err
	}
	if id == kf.ActiveID {
		return fmt.Errorf("key %d is the active key: rotate first", id)
	}
	keep := kf.Keys[:0]
	found := false
	for _, k := range kf.Keys {
		if k.ID == id {
			found = true
			continue
		}
		keep = append(keep, k)
	}
	if !found {
		return fmt.Errorf("no key %d in %s", id, path)
	}
	kf.Keys = keep
	return writeKeyFile(path, kf, false)
}

// KeyInfo describes a key without its secret.
type KeyInfo struct {
	ID        uint32
	CreatedAt time.Time
	Active    bool
}

// List describes the keys of the key file at path.
func List(path string) ([]KeyInfo, error) {
	kf, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, 0, len(kf.Keys))
	for _, k := range kf.Keys {
		out = append(out, KeyInfo{ID: k.ID, CreatedAt: k.CreatedAt, Active: k.ID == kf.ActiveID})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
