package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"

	"github.com/carillon-dev/carillon/internal/accounts"
)

// writeCredentials writes a credentials file with two full accounts, one
// session-token principal and one restricted principal.
func writeCredentials(t *testing.T) string {
	t.Helper()
	f := accounts.File{Accounts: []accounts.Principal{
		{AccountID: "111111111111", AccessKeyID: "AKIAONE", SecretAccessKey: "secret-one"},
		{AccountID: "222222222222", AccessKeyID: "AKIATWO", SecretAccessKey: "secret-two"},
		{AccountID: "111111111111", AccessKeyID: "ASIASESSION", SecretAccessKey: "secret-session", SessionToken: "session-token"},
		{AccountID: "111111111111", AccessKeyID: "AKIAREADER", SecretAccessKey: "secret-reader", Allow: []string{"GetMeeting", "GetAttendee"}},
	}}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "credentials.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAuthentication(t *testing.T) {
	e := start(t, withCredentials(writeCredentials(t)))
	one := e.newClient("AKIAONE", "secret-one", "")
	m, err := one.CreateMeetingWithContext(e.ctx(), &chimesdkmeetings.CreateMeetingInput{ExternalMeetingId: aws.String("auth"), MediaRegion: aws.String("us-east-1")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(*m.Meeting.MeetingArn, ":111111111111:") {
		t.Fatalf("ARN does not carry the owner's account: %s", *m.Meeting.MeetingArn)
	}
	get := func(c *chimesdkmeetings.ChimeSDKMeetings) error {
		_, err := c.GetMeetingWithContext(e.ctx(), &chimesdkmeetings.GetMeetingInput{MeetingId: m.Meeting.MeetingId})
		return err
	}

	// The local pair is not accepted once credentials are configured.
	wantAPIError(t, get(e.client), "ForbiddenException", 403, "security token")
	// A wrong secret.
	wantAPIError(t, get(e.newClient("AKIAONE", "wrong", "")), "ForbiddenException", 403, "signature")
	// Session credentials need their token, and only they may carry one.
	if err := get(e.newClient("ASIASESSION", "secret-session", "session-token")); err != nil {
		t.Fatalf("session credentials: %v", err)
	}
	wantAPIError(t, get(e.newClient("ASIASESSION", "secret-session", "")), "ForbiddenException", 403, "")
	wantAPIError(t, get(e.newClient("ASIASESSION", "secret-session", "other-token")), "ForbiddenException", 403, "")
	wantAPIError(t, get(e.newClient("AKIAONE", "secret-one", "unexpected")), "ForbiddenException", 403, "")
	// Unsigned.
	wantRawError(t, e.do("GET", "/meetings/"+*m.Meeting.MeetingId, nil, false), 401, "UnauthorizedException")

	// A restricted principal may call only what it is allowed.
	reader := e.newClient("AKIAREADER", "secret-reader", "")
	if err := get(reader); err != nil {
		t.Fatalf("allowed operation refused: %v", err)
	}
	_, err = reader.CreateAttendeeWithContext(e.ctx(), &chimesdkmeetings.CreateAttendeeInput{MeetingId: m.Meeting.MeetingId, ExternalUserId: aws.String("x1")})
	wantAPIError(t, err, "ForbiddenException", 403, "chime:CreateAttendee")
}

// TestAccountIsolation checks that another account sees nothing of a
// meeting, through every operation, and cannot tell it exists.
func TestAccountIsolation(t *testing.T) {
	e := start(t, withCredentials(writeCredentials(t)))
	one := e.newClient("AKIAONE", "secret-one", "")
	two := e.newClient("AKIATWO", "secret-two", "")
	in := &chimesdkmeetings.CreateMeetingInput{ClientRequestToken: aws.String("shared-token"), ExternalMeetingId: aws.String("mine"), MediaRegion: aws.String("us-east-1")}
	out, err := one.CreateMeetingWithContext(e.ctx(), in)
	if err != nil {
		t.Fatal(err)
	}
	m := out.Meeting
	a, err := one.CreateAttendeeWithContext(e.ctx(), &chimesdkmeetings.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	aid := a.Attendee.AttendeeId
	caps := &chimesdkmeetings.AttendeeCapabilities{Audio: aws.String("None"), Video: aws.String("None"), Content: aws.String("None")}
	ctx := e.ctx()

	notFound := func(name string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: another account succeeded", name)
		}
		wantAPIError(t, err, "NotFoundException", 404, "")
	}
	_, err = two.GetMeetingWithContext(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: m.MeetingId})
	notFound("GetMeeting", err)
	_, err = two.DeleteMeetingWithContext(ctx, &chimesdkmeetings.DeleteMeetingInput{MeetingId: m.MeetingId})
	notFound("DeleteMeeting", err)
	_, err = two.CreateAttendeeWithContext(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: aws.String("mallory")})
	notFound("CreateAttendee", err)
	_, err = two.BatchCreateAttendeeWithContext(ctx, &chimesdkmeetings.BatchCreateAttendeeInput{MeetingId: m.MeetingId, Attendees: []*chimesdkmeetings.CreateAttendeeRequestItem{{ExternalUserId: aws.String("mallory")}}})
	notFound("BatchCreateAttendee", err)
	_, err = two.GetAttendeeWithContext(ctx, &chimesdkmeetings.GetAttendeeInput{MeetingId: m.MeetingId, AttendeeId: aid})
	notFound("GetAttendee", err)
	_, err = two.ListAttendeesWithContext(ctx, &chimesdkmeetings.ListAttendeesInput{MeetingId: m.MeetingId})
	notFound("ListAttendees", err)
	_, err = two.DeleteAttendeeWithContext(ctx, &chimesdkmeetings.DeleteAttendeeInput{MeetingId: m.MeetingId, AttendeeId: aid})
	notFound("DeleteAttendee", err)
	_, err = two.UpdateAttendeeCapabilitiesWithContext(ctx, &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{MeetingId: m.MeetingId, AttendeeId: aid, Capabilities: caps})
	notFound("UpdateAttendeeCapabilities", err)
	_, err = two.BatchUpdateAttendeeCapabilitiesExceptWithContext(ctx, &chimesdkmeetings.BatchUpdateAttendeeCapabilitiesExceptInput{MeetingId: m.MeetingId, ExcludedAttendeeIds: []*chimesdkmeetings.AttendeeIdItem{{AttendeeId: aid}}, Capabilities: caps})
	notFound("BatchUpdateAttendeeCapabilitiesExcept", err)
	_, err = two.StartMeetingTranscriptionWithContext(ctx, &chimesdkmeetings.StartMeetingTranscriptionInput{MeetingId: m.MeetingId, TranscriptionConfiguration: &chimesdkmeetings.TranscriptionConfiguration{EngineTranscribeSettings: &chimesdkmeetings.EngineTranscribeSettings{LanguageCode: aws.String("en-US")}}})
	notFound("StartMeetingTranscription", err)
	_, err = two.StopMeetingTranscriptionWithContext(ctx, &chimesdkmeetings.StopMeetingTranscriptionInput{MeetingId: m.MeetingId})
	notFound("StopMeetingTranscription", err)
	for _, arn := range []string{*m.MeetingArn, strings.Replace(*m.MeetingArn, "111111111111", "222222222222", 1)} {
		_, err = two.TagResourceWithContext(ctx, &chimesdkmeetings.TagResourceInput{ResourceARN: aws.String(arn), Tags: []*chimesdkmeetings.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
		wantAPIError(t, err, "ResourceNotFoundException", 404, "")
		_, err = two.UntagResourceWithContext(ctx, &chimesdkmeetings.UntagResourceInput{ResourceARN: aws.String(arn), TagKeys: aws.StringSlice([]string{"k"})})
		wantAPIError(t, err, "ResourceNotFoundException", 404, "")
		_, err = two.ListTagsForResourceWithContext(ctx, &chimesdkmeetings.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
		wantAPIError(t, err, "ResourceNotFoundException", 404, "")
	}
	// The same ClientRequestToken in another account makes another meeting.
	other, err := two.CreateMeetingWithContext(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if *other.Meeting.MeetingId == *m.MeetingId {
		t.Fatal("ClientRequestToken idempotency crossed accounts")
	}
	// And the owner still has everything.
	got, err := one.ListAttendeesWithContext(ctx, &chimesdkmeetings.ListAttendeesInput{MeetingId: m.MeetingId})
	if err != nil || len(got.Attendees) != 1 || *got.Attendees[0].Capabilities.Audio != "SendReceive" {
		t.Fatalf("the owner's meeting changed: %v %v", got, err)
	}
}

func TestNonLoopbackNeedsCredentials(t *testing.T) {
	cfg := start(t).cfg
	cfg.Listen = "0.0.0.0:0"
	cfg.OpsListen = ""
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	_, err := newServer(t, cfg)
	if err == nil || !strings.Contains(err.Error(), "non-loopback") {
		t.Fatalf("a server with the default credentials listened on 0.0.0.0: %v", err)
	}
	cfg.InsecureAllowDefaultCredentials = true
	s, err := newServer(t, cfg)
	if err != nil {
		t.Fatalf("explicitly insecure server refused: %v", err)
	}
	s.Close()
}
