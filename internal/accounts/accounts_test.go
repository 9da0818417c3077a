package accounts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "creds.json")
	os.WriteFile(path, []byte(`{"accounts":[
		{"accountId":"111111111111","accessKeyId":"AKIAONE","secretAccessKey":"s1"},
		{"accountId":"222222222222","accessKeyId":"AKIATWO","secretAccessKey":"s2","sessionToken":"tok","allow":["GetMeeting","CreateAttendee"]},
		{"accountId":"222222222222","accessKeyId":"AKIANONE","secretAccessKey":"s3","allow":[]}]}`), 0o600)
	r, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := r.Lookup("AKIATWO")
	if !ok || c.AccountID != "222222222222" || c.SessionToken != "tok" || c.SecretAccessKey != "s2" {
		t.Fatalf("lookup: %+v %v", c, ok)
	}
	if _, ok := r.Lookup("AKIAUNKNOWN"); ok {
		t.Fatal("unknown key found")
	}
	if !r.Allowed("AKIAONE", "DeleteMeeting") || !r.Allowed("AKIATWO", "CreateAttendee") || r.Allowed("AKIATWO", "DeleteMeeting") ||
		r.Allowed("AKIANONE", "GetMeeting") || r.Allowed("AKIAUNKNOWN", "GetMeeting") {
		t.Fatal("allow lists misapplied")
	}
	if got := strings.Join(r.Accounts(), ","); got != "111111111111,222222222222" {
		t.Fatalf("accounts = %s", got)
	}
	if r.IsLocal() {
		t.Fatal("a configured registry says it is local")
	}
}

func TestLoadFileRefusesMistakes(t *testing.T) {
	for name, body := range map[string]string{
		"misspelt allow":    `{"accounts":[{"accountId":"111111111111","accessKeyId":"A","secretAccessKey":"s","alow":["GetMeeting"]}]}`,
		"unknown operation": `{"accounts":[{"accountId":"111111111111","accessKeyId":"A","secretAccessKey":"s","allow":["GetMeetings"]}]}`,
		"short account":     `{"accounts":[{"accountId":"1111","accessKeyId":"A","secretAccessKey":"s"}]}`,
		"no secret":         `{"accounts":[{"accountId":"111111111111","accessKeyId":"A"}]}`,
		"duplicate key":     `{"accounts":[{"accountId":"111111111111","accessKeyId":"A","secretAccessKey":"s"},{"accountId":"222222222222","accessKeyId":"A","secretAccessKey":"t"}]}`,
		"no accounts":       `{"accounts":[]}`,
		"not JSON":          `accounts:`,
	} {
		path := filepath.Join(t.TempDir(), "creds.json")
		os.WriteFile(path, []byte(body), 0o600)
		if _, err := LoadFile(path); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestLocal(t *testing.T) {
	r := NewLocal()
	c, ok := r.Lookup("test")
	if !ok || c.SecretAccessKey != "test" || c.AccountID != "000000000000" || !r.IsLocal() {
		t.Fatalf("local registry: %+v %v", c, ok)
	}
}
