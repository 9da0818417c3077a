package events

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
)

func meeting() *store.Meeting {
	return &store.Meeting{ID: "01a21db6-2c58-7b21-9f77-de46597f739f", AccountID: "111111111111", APIRegion: "us-west-2",
		ExternalMeetingID: "standup", MediaRegion: "eu-central-1"}
}

func TestEnvelope(t *testing.T) {
	at := time.Date(2026, 11, 27, 12, 11, 16, 120e6, time.UTC)
	e := New(AttendeeJoined, meeting(), &Attendee{ID: "a1", ExternalUserID: "alice"}, at)
	var got map[string]any
	if err := json.Unmarshal(e.Payload, &got); err != nil {
		t.Fatal(err)
	}
	detail := got["detail"].(map[string]any)
	for k, want := range map[string]any{"version": "0", "detail-type": "Chime Meeting State Change", "source": "aws.chime",
		"account": "111111111111", "time": "2026-11-27T12:11:16.120Z", "region": "us-west-2"} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if res := got["resources"].([]any); len(res) != 1 || res[0] != "arn:aws:chime:us-west-2:111111111111:meeting/01a21db6-2c58-7b21-9f77-de46597f739f" {
		t.Errorf("resources = %v", res)
	}
	for k, want := range map[string]any{"version": "0", "eventType": "chime:AttendeeJoined", "timestamp": float64(at.UnixMilli()),
		"meetingId": e.MeetingID, "externalMeetingId": "standup", "attendeeId": "a1", "externalUserId": "alice",
		"networkType": "Voip", "mediaRegion": "eu-central-1"} {
		if detail[k] != want {
			t.Errorf("detail.%s = %v, want %v", k, detail[k], want)
		}
	}
	if e.ID != got["id"] || e.Type != AttendeeJoined || e.AccountID != "111111111111" || !e.CreatedAt.Equal(at) {
		t.Errorf("outbox record = %+v", e)
	}
	// Meeting events carry no attendee fields; AttendeeAdded no networkType.
	if p := string(New(MeetingEnded, meeting(), nil, at).Payload); strings.Contains(p, "attendeeId") || strings.Contains(p, "networkType") {
		t.Errorf("MeetingEnded = %s", p)
	}
	if p := string(New(AttendeeAdded, meeting(), &Attendee{ID: "a1", ExternalUserID: "alice"}, at).Payload); strings.Contains(p, "networkType") {
		t.Errorf("AttendeeAdded = %s", p)
	}
}

func TestTranscriptionDetail(t *testing.T) {
	m := meeting()
	m.Transcription = &model.TranscriptionConfiguration{EngineTranscribeSettings: &model.EngineTranscribeSettings{LanguageCode: "en-US", Region: "auto"}}
	var env Envelope
	json.Unmarshal(New(TranscriptionStarted, m, nil, time.Now()).Payload, &env)
	if env.Detail.TranscriptionRegion != "eu-central-1" || env.Detail.TranscriptionConfiguration != `{"EngineTranscribeSettings":{"LanguageCode":"en-US","Region":"auto"}}` {
		t.Fatalf("detail = %+v", env.Detail)
	}
}

func TestWebhookSignature(t *testing.T) {
	secret := []byte("s3cret")
	body := []byte(`{"id":"x"}`)
	now := time.Unix(1_800_000_000, 0)
	h := http.Header{}
	h.Set(HeaderTimestamp, "1800000000")
	h.Set(HeaderSignature, Sign(secret, 1_800_000_000, body))
	if err := VerifyWebhook(secret, h, body, now, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := VerifyWebhook(secret, h, []byte(`{"id":"y"}`), now, 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("tampered body: %v", err)
	}
	if err := VerifyWebhook([]byte("other"), h, body, now, 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("other secret: %v", err)
	}
	if err := VerifyWebhook(secret, h, body, now.Add(6*time.Minute), 5*time.Minute); !errors.Is(err, ErrStale) {
		t.Fatalf("replayed later: %v", err)
	}
	h.Set(HeaderTimestamp, "1800000001") // a moved timestamp breaks the signature
	if err := VerifyWebhook(secret, h, body, now, 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("moved timestamp: %v", err)
	}
}

func TestRoutes(t *testing.T) {
	m := meeting()
	m.Details.Notifications = &model.NotificationsConfiguration{SqsQueueArn: "arn:aws:sqs:us-east-1:1:q", SnsTopicArn: "arn:aws:sns:us-east-1:1:t"}
	r := Routes{Webhooks: []string{"http://a", "http://b"}}
	if got := strings.Join(r.For(m), " "); got != "webhook:http://a webhook:http://b" {
		t.Fatalf("without notifications: %s", got)
	}
	r.Notifications = true
	if got := strings.Join(r.For(m), " "); got != "webhook:http://a webhook:http://b sqs:arn:aws:sqs:us-east-1:1:q sns:arn:aws:sns:us-east-1:1:t" {
		t.Fatalf("with notifications: %s", got)
	}
}

func TestBackoff(t *testing.T) {
	d := &Dispatcher{cfg: DispatchConfig{BaseBackoff: time.Second, MaxBackoff: time.Minute}}
	for attempts, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 20: time.Minute} {
		got := d.backoff(attempts)
		if got < want*9/10 || got > want*11/10 {
			t.Errorf("backoff(%d) = %s, want %s ±10%%", attempts, got, want)
		}
	}
}
