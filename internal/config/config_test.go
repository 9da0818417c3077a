package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "carillon.conf")
	if err := os.WriteFile(file, []byte("listen 127.0.0.1:7000\nidle-timeout 7m\nmax-replicas 9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CARILLON_IDLE_TIMEOUT", "8m")
	t.Setenv("CARILLON_MAX_ATTENDEES", "100")
	c, err := Parse("serve", []string{"--config", file, "--max-attendees", "50"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:7000" || c.IdleTimeout != 8*time.Minute || c.MaxAttendees != 50 || c.MaxReplicas != 9 {
		t.Fatalf("precedence flags > env > file broken: %+v", c)
	}
	if c.TokenKeyFile != filepath.Join("carillon-data", "join-token-keys.json") {
		t.Fatalf("TokenKeyFile default = %q", c.TokenKeyFile)
	}
}

func TestJSONConfigFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "carillon.json")
	if err := os.WriteFile(file, []byte(`{"store":"memory","max-duration":"1h"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse("serve", []string{"--config", file}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Store != "memory" || c.MaxDuration != time.Hour {
		t.Fatalf("JSON config not applied: %+v", c)
	}
}

func TestCheckNamesEveryProblem(t *testing.T) {
	_, err := Parse("serve", []string{"--listen", "nope", "--store", "redis", "--public-url", "ftp://x", "--max-attendees", "300",
		"--idle-timeout", "-1s", "--log-format", "xml", "--access-key-id", "AKIA"}, &bytes.Buffer{})
	if err == nil {
		t.Fatal("bad settings accepted")
	}
	for _, want := range []string{"--listen", "--store", "--public-url", "--max-attendees", "--idle-timeout", "--log-format", "--secret-access-key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

func TestHelpListsEverySettingWithItsVariable(t *testing.T) {
	var out bytes.Buffer
	var c Config
	fs := c.FlagSet("serve")
	Usage(&out, fs)
	for _, want := range []string{"--listen", "CARILLON_LISTEN", "--public-url", "CARILLON_PUBLIC_URL", "--idle-timeout", "CARILLON_IDLE_TIMEOUT", "default 5m0s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q", want)
		}
	}
}

func TestPublicBase(t *testing.T) {
	c := Config{}
	if got := c.PublicBase("0.0.0.0:8080").String(); got != "http://127.0.0.1:8080" {
		t.Fatalf("PublicBase = %s", got)
	}
	c.PublicURL = "https://meet.example.com/carillon"
	if got := c.PublicBase("0.0.0.0:8080").String(); got != "https://meet.example.com/carillon" {
		t.Fatalf("PublicBase = %s", got)
	}
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "[::1]:1": true, "localhost:1": true, ":8080": false, "0.0.0.0:1": false, "10.0.0.1:1": false} {
		if IsLoopback(addr) != want {
			t.Errorf("IsLoopback(%s) != %v", addr, want)
		}
	}
}

func TestQuotaPreset(t *testing.T) {
	t.Setenv("CARILLON_RATE_BURST", "5")
	c, err := Parse("serve", []string{"--quota-preset", "aws", "--max-active-meetings", "3"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimit != 10 || c.RateBurst != 5 || c.MaxActiveMeetings != 3 || c.MaxAttendees != 250 || c.MaxReplicas != 4 {
		t.Fatalf("the preset must fill only what is not set: %+v", c)
	}
	if _, err := Parse("serve", []string{"--quota-preset", "gcp"}, &bytes.Buffer{}); err == nil {
		t.Fatal("unknown preset accepted")
	}
}

func TestMediaSettings(t *testing.T) {
	c, err := Parse("serve", []string{"--media-udp-ports", "50000-50100", "--media-advertise-ip", "203.0.113.7, 2001:db8::7"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.MediaUDPPortMin != 50000 || c.MediaUDPPortMax != 50100 || len(c.MediaAdvertiseIPs) != 2 || !c.MediaLoopback {
		t.Fatalf("media settings: %+v", c)
	}
	c, err = Parse("serve", []string{"--media-udp-ports", "3478"}, &bytes.Buffer{})
	if err != nil || c.MediaUDPPortMin != 3478 || c.MediaUDPPortMax != 3478 {
		t.Fatalf("one shared port: %+v, %v", c, err)
	}
	for _, bad := range [][]string{
		{"--media-udp-ports", "9-3"}, {"--media-udp-ports", "0"}, {"--media-udp-ports", "70000"}, {"--media-udp-ports", "a-b"},
		{"--media-advertise-ip", "example.com"}, {"--media-drop-grace", "0s"}, {"--demo-account", "123"},
	} {
		if _, err := Parse("serve", bad, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

func TestEventBridgeBus(t *testing.T) {
	parse := func(args ...string) error {
		_, err := Parse("serve", append([]string{"--store", "memory"}, args...), &bytes.Buffer{})
		return err
	}
	if err := parse("--notifications-endpoint", "http://127.0.0.1:4566", "--eventbridge-bus", "default"); err != nil {
		t.Fatalf("a bus on a compatible server: %v", err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--eventbridge-bus", "default"}, "needs --notifications-endpoint"},
		{[]string{"--notifications-endpoint", "aws", "--eventbridge-bus", "default"}, "accepts events of the source aws.chime only from the service"},
		{[]string{"--notifications-endpoint", "http://127.0.0.1:4566", "--eventbridge-bus", "no spaces"}, `--eventbridge-bus "no spaces"`},
	} {
		if err := parse(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error naming %q", c.args, err, c.want)
		}
	}
}
