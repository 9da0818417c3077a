package e2e

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"

	"github.com/carillon-dev/carillon/internal/token"
)

func TestJoinTokens(t *testing.T) {
	e := start(t)
	m := e.createMeeting("tokens")
	seen := map[string]bool{}
	var alice *chimesdkmeetings.Attendee
	for _, user := range []string{"alice", "bob", "carol", "dave"} {
		a := e.createAttendee(*m.MeetingId, user)
		if seen[*a.JoinToken] {
			t.Fatal("two attendees share a join token")
		}
		seen[*a.JoinToken] = true
		if user == "alice" {
			alice = a
		}
	}

	id, ok := e.verifyToken(*alice.JoinToken)
	if !ok || id["AccountId"] != "000000000000" || id["MeetingId"] != *m.MeetingId || id["AttendeeId"] != *alice.AttendeeId ||
		id["ExternalUserId"] != "alice" || id["Content"] != false {
		t.Fatalf("verify = %v, %v", id, ok)
	}
	// The content-share session carries the suffix #content.
	id, ok = e.verifyToken(*alice.JoinToken + "#content")
	if !ok || id["AttendeeId"] != *alice.AttendeeId+"#content" || id["Content"] != true {
		t.Fatalf("verify content = %v, %v", id, ok)
	}

	// Any change to a token voids it.
	raw, err := base64.RawURLEncoding.DecodeString(*alice.JoinToken)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		forged := bytes.Clone(raw)
		forged[i] ^= 0x01
		if _, ok := e.verifyToken(base64.RawURLEncoding.EncodeToString(forged)); ok {
			t.Fatalf("a token with byte %d flipped verifies", i)
		}
	}
	for _, bad := range []string{"", "x", *alice.JoinToken + "x", strings.ToUpper(*alice.JoinToken), *alice.JoinToken + "#screen", strings.Repeat("A", 5000)} {
		if _, ok := e.verifyToken(bad); ok {
			t.Fatalf("token %.40q verifies", bad)
		}
	}

	// Deleting the attendee voids its token at once.
	if _, err := e.client.DeleteAttendeeWithContext(e.ctx(), &chimesdkmeetings.DeleteAttendeeInput{MeetingId: m.MeetingId, AttendeeId: alice.AttendeeId}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.verifyToken(*alice.JoinToken); ok {
		t.Fatal("a deleted attendee's token verifies")
	}
}

// TestJoinTokensAcrossRestartAndRotation: tokens verify after a restart and
// after the key is rotated; repeats return the same token; a retired key's
// tokens stop working; the database alone yields no token.
func TestJoinTokensAcrossRestartAndRotation(t *testing.T) {
	dir := t.TempDir()
	e := start(t, withDataDir(dir))
	m := e.createMeeting("rotation")
	old := e.createAttendee(*m.MeetingId, "alice")

	if info, err := os.Stat(filepath.Join(dir, "join-token-keys.json")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, info.Mode().Perm())
	}

	e.restart()
	if _, ok := e.verifyToken(*old.JoinToken); !ok {
		t.Fatal("token refused after a restart")
	}
	if again := e.createAttendee(*m.MeetingId, "alice"); *again.JoinToken != *old.JoinToken {
		t.Fatal("the repeat after a restart returned another token")
	}

	keyFile := filepath.Join(dir, "join-token-keys.json")
	newID, err := token.Rotate(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.ReloadKeys(); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.verifyToken(*old.JoinToken); !ok {
		t.Fatal("rotation voided a live token")
	}
	if again := e.createAttendee(*m.MeetingId, "alice"); *again.JoinToken != *old.JoinToken {
		t.Fatal("the repeat after rotation returned another token")
	}
	fresh := e.createAttendee(*m.MeetingId, "bob")
	if _, ok := e.verifyToken(*fresh.JoinToken); !ok {
		t.Fatal("a token of the new key does not verify")
	}
	got, err := e.client.GetAttendeeWithContext(e.ctx(), &chimesdkmeetings.GetAttendeeInput{MeetingId: m.MeetingId, AttendeeId: fresh.AttendeeId})
	if err != nil || *got.Attendee.JoinToken != *fresh.JoinToken {
		t.Fatalf("GetAttendee token differs: %v", err)
	}

	if err := token.Retire(keyFile, newID-1); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.ReloadKeys(); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.verifyToken(*old.JoinToken); ok {
		t.Fatal("a retired key's token still verifies")
	}
	if _, ok := e.verifyToken(*fresh.JoinToken); !ok {
		t.Fatal("retiring the old key voided a token of the new one")
	}

	// A copy of the database holds neither token, nor the MAC in them.
	e.stop()
	var db []byte
	for _, name := range []string{"carillon.db", "carillon.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		db = append(db, b...)
	}
	for _, tok := range []string{*old.JoinToken, *fresh.JoinToken} {
		raw, _ := base64.RawURLEncoding.DecodeString(tok)
		mac := raw[len(raw)-32:]
		if bytes.Contains(db, []byte(tok)) || bytes.Contains(db, mac[:16]) {
			t.Fatal("the database holds a usable form of a join token")
		}
	}
	if len(db) == 0 {
		t.Fatal("read no database")
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	e := start(t, withDataDir(t.TempDir()))
	m := e.createMeeting("durable", func(in *chimesdkmeetings.CreateMeetingInput) {
		in.Tags = []*chimesdkmeetings.Tag{{Key: aws.String("k"), Value: aws.String("v")}}
	})
	for _, u := range []string{"a1", "a2", "a3"} {
		e.createAttendee(*m.MeetingId, u)
	}
	first, err := e.client.ListAttendeesWithContext(e.ctx(), &chimesdkmeetings.ListAttendeesInput{MeetingId: m.MeetingId, MaxResults: aws.Int64(2)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %v", err)
	}
	e.restart()
	got, err := e.client.GetMeetingWithContext(e.ctx(), &chimesdkmeetings.GetMeetingInput{MeetingId: m.MeetingId})
	if err != nil || got.Meeting.String() != m.String() {
		t.Fatalf("meeting after restart: %v %v", got, err)
	}
	rest, err := e.client.ListAttendeesWithContext(e.ctx(), &chimesdkmeetings.ListAttendeesInput{MeetingId: m.MeetingId, NextToken: first.NextToken})
	if err != nil || len(rest.Attendees) != 1 || *rest.Attendees[0].ExternalUserId != "a3" {
		t.Fatalf("a NextToken from before the restart: %v %v", rest, err)
	}
	tags, err := e.client.ListTagsForResourceWithContext(e.ctx(), &chimesdkmeetings.ListTagsForResourceInput{ResourceARN: m.MeetingArn})
	if err != nil || len(tags.Tags) != 1 {
		t.Fatalf("tags after restart: %v %v", tags, err)
	}
}
