package events

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
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
	if err := json.Unmarshal(rendered(t, e), &got); err != nil {
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
	if p := string(rendered(t, New(MeetingEnded, meeting(), nil, at))); strings.Contains(p, "attendeeId") || strings.Contains(p, "networkType") {
		t.Errorf("MeetingEnded = %s", p)
	}
	if p := string(rendered(t, New(AttendeeAdded, meeting(), &Attendee{ID: "a1", ExternalUserID: "alice"}, at))); strings.Contains(p, "networkType") {
		t.Errorf("AttendeeAdded = %s", p)
	}
}

// rendered is an event's payload as destinations receive it.
func rendered(t *testing.T, e *store.Event) []byte {
	t.Helper()
	p, err := Payload(e)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The outbox keeps an event compact; read back (its time to the
// millisecond, as the stores keep it) it renders as it did when new, and
// as json.Marshal renders its envelope. Events kept whole, from before,
// come back as they are.
func TestStoredEvents(t *testing.T) {
	at := time.Date(2026, 11, 27, 12, 11, 16, 120_456_789, time.UTC)
	m := meeting()
	m.Transcription = &model.TranscriptionConfiguration{EngineTranscribeSettings: &model.EngineTranscribeSettings{LanguageCode: "en-US"}}
	caps := &model.AttendeeCapabilities{Audio: "SendReceive", Video: "None", Content: "Receive"}
	for _, typ := range []string{MeetingStarted, AttendeeAdded, AttendeeJoined, AttendeeCapabilitiesUpdated, TranscriptionStarted} {
		e := New(typ, m, &Attendee{ID: "a1", ExternalUserID: `<al"ice>`, Capabilities: caps}, at)
		if len(e.Payload) > 300 {
			t.Errorf("%s: kept as %d bytes: %s", typ, len(e.Payload), e.Payload)
		}
		fresh := rendered(t, e)
		back := *e
		back.CreatedAt = time.UnixMilli(at.UnixMilli())
		if got := rendered(t, &back); string(got) != string(fresh) {
			t.Errorf("%s read back:\n got %s\nwant %s", typ, got, fresh)
		}
		var env Envelope
		if err := json.Unmarshal(fresh, &env); err != nil {
			t.Fatal(err)
		}
		if want, _ := json.Marshal(env); string(want) != string(fresh) {
			t.Errorf("%s:\n got %s\nwant %s", typ, fresh, want)
		}
		if d, err := DetailOf(e); err != nil || d.AttendeeID != env.Detail.AttendeeID || d.MediaRegion != "eu-central-1" {
			t.Errorf("%s: DetailOf = %+v, %v", typ, d, err)
		}
		whole := *e
		whole.Payload = fresh
		if got := rendered(t, &whole); string(got) != string(fresh) {
			t.Errorf("%s kept whole: %s", typ, got)
		}
		if d, err := DetailOf(&whole); err != nil || !reflect.DeepEqual(d, env.Detail) {
			t.Errorf("%s kept whole: DetailOf = %+v, %v", typ, d, err)
		}
	}
	if _, err := Payload(&store.Event{Seq: 7, Payload: []byte(`{"region":`)}); err == nil {
		t.Error("a damaged stored event rendered")
	}
}

func TestTranscriptionDetail(t *testing.T) {
	m := meeting()
	m.Transcription = &model.TranscriptionConfiguration{EngineTranscribeSettings: &model.EngineTranscribeSettings{LanguageCode: "en-US", Region: "auto"}}
	var env Envelope
	json.Unmarshal(rendered(t, New(TranscriptionStarted, m, nil, time.Now())), &env)
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
	// A bus named is the bus of that name in the meeting's control region;
	// an ARN is that bus, whatever the meeting's region.
	r = Routes{EventBus: "default"}
	if got := strings.Join(r.For(m), " "); !r.Active() || got != "eventbridge:us-west-2/default" {
		t.Fatalf("with a bus name: %s", got)
	}
	r.EventBus = "arn:aws:events:eu-west-1:123456789012:event-bus/meetings"
	if got := strings.Join(r.For(m), " "); got != "eventbridge:arn:aws:events:eu-west-1:123456789012:event-bus/meetings" {
		t.Fatalf("with a bus ARN: %s", got)
	}
	if (Routes{}).Active() {
		t.Fatal("no destination, yet active")
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
