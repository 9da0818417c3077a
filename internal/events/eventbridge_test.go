package events

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCheckEventBus(t *testing.T) {
	for _, ok := range []string{"default", "meetings.events", "aws.partner/example.com/123/bus", strings.Repeat("b", 256),
		"arn:aws:events:us-east-1:123456789012:event-bus/default", "arn:aws-cn:events:cn-north-1:123456789012:event-bus/x"} {
		if err := CheckEventBus(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "has space", "emoji🙂", strings.Repeat("b", 257), "arn:aws:sqs:us-east-1:123456789012:q",
		"arn:aws:events:us-east-1:123456789012:rule/r", "arn:aws:events::123456789012:event-bus/default",
		"arn:aws:events:us-east-1:123456789012:event-bus/", "arn:"} {
		if err := CheckEventBus(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// fakeEventBridge answers PutEvents with the answers given in turn and
// keeps the requests' bodies and paths' regions.
type fakeEventBridge struct {
	mu       sync.Mutex
	answers  []string // status line code and body, "200 {...}"
	requests []map[string]any
	hosts    []string
}

func (f *fakeEventBridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	var req map[string]any
	if r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" || json.Unmarshal(body, &req) != nil {
		http.Error(w, "unexpected request", http.StatusBadRequest)
		return
	}
	f.requests = append(f.requests, req)
	// The signing region, which the client takes from the target.
	_, scope, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	f.hosts = append(f.hosts, strings.Split(scope, "/")[2])
	answer := f.answers[0]
	f.answers = f.answers[1:]
	code, reply, _ := strings.Cut(answer, " ")
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(map[string]int{"200": 200, "400": 400}[code])
	io.WriteString(w, reply)
}

func TestEventBridgeSink(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	fake := &fakeEventBridge{answers: []string{
		`200 {"FailedEntryCount":0,"Entries":[{"EventId":"e1"}]}`,
		`200 {"FailedEntryCount":1,"Entries":[{"ErrorCode":"ThrottlingException","ErrorMessage":"Rate exceeded"}]}`,
		`400 {"__type":"ResourceNotFoundException","message":"Event bus nope does not exist."}`,
		`200 {"FailedEntryCount":1}`,
	}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	n, err := NewNotifier(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	n.base.RetryMaxAttempts = 1 // the dispatcher retries; the client need not
	sink := n.EventBridge()

	at := time.Date(2026, 11, 27, 12, 11, 16, 120e6, time.UTC)
	e := New(AttendeeAdded, meeting(), &Attendee{ID: "a1", ExternalUserID: "alice"}, at)
	e.Payload = rendered(t, e)
	var env struct {
		Detail json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(e.Payload, &env); err != nil {
		t.Fatal(err)
	}

	if err := sink.Deliver(context.Background(), eventBusTarget("default", "us-west-2"), *e); err != nil {
		t.Fatal(err)
	}
	entries := fake.requests[0]["Entries"].([]any)
	entry := entries[0].(map[string]any)
	want := map[string]any{"EventBusName": "default", "Source": "aws.chime", "DetailType": "Chime Meeting State Change",
		"Detail": string(env.Detail), "Time": float64(at.UnixMilli()) / 1000,
		"Resources": []any{"arn:aws:chime:us-west-2:111111111111:meeting/" + e.MeetingID}}
	if len(entries) != 1 || !jsonEqual(entry, want) {
		t.Fatalf("entry\n got %v\nwant %v", entry, want)
	}
	if fake.hosts[0] != "us-west-2" {
		t.Fatalf("signed for %s, want the meeting's region us-west-2", fake.hosts[0])
	}

	err = sink.Deliver(context.Background(), "arn:aws:events:eu-west-1:123456789012:event-bus/meetings", *e)
	if err == nil || !strings.Contains(err.Error(), "ThrottlingException: Rate exceeded") {
		t.Fatalf("refused entry: %v", err)
	}
	if bus := fake.requests[1]["Entries"].([]any)[0].(map[string]any)["EventBusName"]; bus != "arn:aws:events:eu-west-1:123456789012:event-bus/meetings" || fake.hosts[1] != "eu-west-1" {
		t.Fatalf("ARN target: bus %v, region %s", bus, fake.hosts[1])
	}
	if err := sink.Deliver(context.Background(), "us-east-1/nope", *e); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing bus: %v", err)
	}
	if err := sink.Deliver(context.Background(), "us-east-1/default", *e); err == nil {
		t.Fatal("a refusal without entries taken for a delivery")
	}
	for _, bad := range []string{"default", "us-east-1/", "arn:aws:events"} {
		if err := sink.Deliver(context.Background(), bad, *e); err == nil {
			t.Errorf("target %q accepted", bad)
		}
	}
	if len(fake.requests) != 4 {
		t.Fatalf("%d requests, want 4: bad targets must not be sent", len(fake.requests))
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
