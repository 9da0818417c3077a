package meetings

import (
	"context"
	"errors"
	"testing"

	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/model"
)

// Control regions are independent, as in the service: a meeting created
// through one is unknown to every operation through another, and a
// ClientRequestToken or the active-meeting limit counts in one region.
func TestRegionsIndependent(t *testing.T) {
	s := testService(t, nil)
	s.cfg.MaxActiveMeetings = 1
	east, m := callerMeeting(t, s)
	ctx := context.Background()
	a, err := s.CreateAttendee(ctx, east, &model.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	west := Caller{AccountID: east.AccountID, Region: "us-west-2"}
	arn := m.MeetingArn
	notFound := func(op string, err error, kind apierr.Kind) {
		t.Helper()
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Kind != kind {
			t.Errorf("%s from another region: %v, want %v", op, err, kind)
		}
	}
	_, err = s.GetMeeting(ctx, west, &model.GetMeetingInput{MeetingId: m.MeetingId})
	notFound("GetMeeting", err, apierr.NotFound)
	_, err = s.CreateAttendee(ctx, west, &model.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: "bob"})
	notFound("CreateAttendee", err, apierr.NotFound)
	_, err = s.BatchCreateAttendee(ctx, west, &model.BatchCreateAttendeeInput{MeetingId: m.MeetingId,
		Attendees: []model.CreateAttendeeRequestItem{{ExternalUserId: "bob"}}})
	notFound("BatchCreateAttendee", err, apierr.NotFound)
	_, err = s.GetAttendee(ctx, west, &model.GetAttendeeInput{MeetingId: m.MeetingId, AttendeeId: a.AttendeeId})
	notFound("GetAttendee", err, apierr.NotFound)
	_, err = s.ListAttendees(ctx, west, &model.ListAttendeesInput{MeetingId: m.MeetingId})
	notFound("ListAttendees", err, apierr.NotFound)
	err = s.DeleteAttendee(ctx, west, &model.DeleteAttendeeInput{MeetingId: m.MeetingId, AttendeeId: a.AttendeeId})
	notFound("DeleteAttendee", err, apierr.NotFound)
	err = s.StartMeetingTranscription(ctx, west, &model.StartMeetingTranscriptionInput{MeetingId: m.MeetingId,
		TranscriptionConfiguration: &model.TranscriptionConfiguration{EngineTranscribeSettings: &model.EngineTranscribeSettings{LanguageCode: "en-US"}}})
	notFound("StartMeetingTranscription", err, apierr.NotFound)
	_, err = s.ListTagsForResource(ctx, west, &model.ListTagsForResourceInput{ResourceARN: arn})
	notFound("ListTagsForResource", err, apierr.ResourceNotFound)
	_, err = s.CreateMeeting(ctx, west, &model.CreateMeetingInput{ClientRequestToken: "replica", MediaRegion: "us-west-2",
		ExternalMeetingId: "replica", PrimaryMeetingId: m.MeetingId})
	notFound("CreateMeeting with a primary", err, apierr.BadRequest)
	err = s.DeleteMeeting(ctx, west, &model.DeleteMeetingInput{MeetingId: m.MeetingId})
	notFound("DeleteMeeting", err, apierr.NotFound)

	// The token and the limit of one active meeting are the east's: the
	// west makes a meeting of its own with the same token.
	w, err := s.CreateMeeting(ctx, west, &model.CreateMeetingInput{ClientRequestToken: "token", MediaRegion: "us-east-1", ExternalMeetingId: "meeting"})
	if err != nil {
		t.Fatalf("the same token in another region: %v", err)
	}
	if w.MeetingId == m.MeetingId {
		t.Fatal("another region returned the first region's meeting for its token")
	}
	if got := w.MeetingArn; got != "arn:aws:chime:us-west-2:"+east.AccountID+":meeting/"+w.MeetingId {
		t.Fatalf("MeetingArn = %s", got)
	}
	if _, err := s.GetMeeting(ctx, east, &model.GetMeetingInput{MeetingId: m.MeetingId}); err != nil {
		t.Fatalf("the meeting in its own region after all that: %v", err)
	}
}
