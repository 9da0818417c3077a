package events

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/store"
)

func envelopeOf(external, user, message string, caps bool) Envelope {
	env := Envelope{Version: "0", ID: "7585ec7e-6257-4f15-b100-00c3633df805", DetailType: "Chime Meeting State Change",
		Source: "aws.chime", Account: "000000000000", Time: "2026-11-27T19:27:54.508Z", Region: "us-east-1",
		Resources: []string{"arn:aws:chime:us-east-1:000000000000:meeting/" + user},
		Detail: Detail{Version: "0", EventType: AttendeeAdded, Timestamp: 1795807674508, MeetingID: "m",
			ExternalMeetingID: external, AttendeeID: user, ExternalUserID: user, MediaRegion: "us-east-1",
			Message: message, TranscriptionConfiguration: message}}
	if caps {
		env.Detail.Success = "1"
		env.Detail.AttendeeCapabilities = &capabilities{Audio: user, Video: "None", Content: external}
	}
	return env
}

func sameAsMarshal(t *testing.T, env Envelope) {
	t.Helper()
	want, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if got := env.appendJSON(nil); !bytes.Equal(got, want) {
		t.Fatalf("appendJSON:\n got %s\nwant %s", got, want)
	}
}

// The hand-written encoder writes what encoding/json writes, byte for byte.
func TestEnvelopeEncodesAsEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quote" back\slash`, "<b>&amp;</b>", "\x00\x01\b\f\n\r\t\x1f\x7f",
		"é ü 日本 🎉", "\u2028\u2029", "bad \xff utf-8 \xc3", "\xed\xa0\x80 surrogate"} {
		sameAsMarshal(t, envelopeOf(s, s, s, false))
		sameAsMarshal(t, envelopeOf(s, "u", "", true))
	}
	sameAsMarshal(t, Envelope{})
	e := New(AttendeeAdded, &store.Meeting{ID: "m", AccountID: "1", APIRegion: "us-east-1", MediaRegion: "eu-west-1"}, &Attendee{ID: "a", ExternalUserID: "x"}, time.Now())
	var back Envelope
	if err := json.Unmarshal(rendered(t, e), &back); err != nil || back.Detail.AttendeeID != "a" {
		t.Fatalf("%s: %v", e.Payload, err)
	}
}

func FuzzEnvelopeJSON(f *testing.F) {
	f.Add("ext", "user", "message")
	f.Add("<&>", "\u2028", "\xff")
	f.Fuzz(func(t *testing.T, external, user, message string) {
		sameAsMarshal(t, envelopeOf(external, user, message, len(user)%2 == 0))
	})
}

func BenchmarkNewAttendeeAdded(b *testing.B) {
	m := &store.Meeting{ID: "01a21e7a-808b-73c0-8515-a33c578e0012", AccountID: "000000000000", APIRegion: "us-east-1", MediaRegion: "us-east-1", ExternalMeetingID: "bench-c1a421ce"}
	a := &Attendee{ID: "01a21e7a-808c-751e-adc4-1f6f5fb5cd9f", ExternalUserID: "user-0099"}
	b.ReportAllocs()
	for b.Loop() {
		New(AttendeeAdded, m, a, time.Now())
	}
}
