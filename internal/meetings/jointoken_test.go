package meetings

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/token"
	"github.com/google/uuid"
)

func TestVerifyJoinToken(t *testing.T) {
	s := testService(t, nil)
	c, m := callerMeeting(t, s)
	ctx := context.Background()
	add := func(user string) *model.Attendee {
		t.Helper()
		a, err := s.CreateAttendee(ctx, c, &model.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: user})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	alice, bob := add("alice"), add("bob")

	who, err := s.VerifyJoinToken(ctx, alice.JoinToken)
	if err != nil {
		t.Fatal(err)
	}
	if who.MeetingID != m.MeetingId || who.AttendeeID != alice.AttendeeId || who.ExternalUserID != "alice" || who.AccountID != c.AccountID || who.Content {
		t.Errorf("identity %+v, want alice's", who)
	}
	if want := *alice.Capabilities; who.Capabilities != want {
		t.Errorf("capabilities %+v, want %+v", who.Capabilities, want)
	}

	share, err := s.VerifyJoinToken(ctx, alice.JoinToken+model.ContentSuffix)
	if err != nil || !share.Content || share.AttendeeID != alice.AttendeeId+model.ContentSuffix {
		t.Errorf("content share: %+v %v, want alice's share", share, err)
	}

	// Bob's token with alice's ID in it does not verify.
	raw, err := base64.RawURLEncoding.DecodeString(bob.JoinToken)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.MustParse(alice.AttendeeId)
	copy(raw[21:37], id[:])
	forged := base64.RawURLEncoding.EncodeToString(raw)
	if p, err := token.ParseJoinToken(forged); err != nil || p.AttendeeID != alice.AttendeeId {
		t.Fatalf("forging: %+v %v", p, err)
	}
	if _, err := s.VerifyJoinToken(ctx, forged); !errors.Is(err, ErrTokenRefused) || errors.Is(err, ErrMeetingEnded) {
		t.Errorf("forged token: %v, want refused", err)
	}
	if _, err := s.VerifyJoinToken(ctx, "not a token"); !errors.Is(err, ErrTokenRefused) {
		t.Errorf("malformed token: %v, want refused", err)
	}

	if err := s.DeleteAttendee(ctx, c, &model.DeleteAttendeeInput{MeetingId: m.MeetingId, AttendeeId: bob.AttendeeId}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyJoinToken(ctx, bob.JoinToken); !errors.Is(err, ErrTokenRefused) || errors.Is(err, ErrMeetingEnded) {
		t.Errorf("deleted attendee: %v, want refused", err)
	}

	if err := s.DeleteMeeting(ctx, c, &model.DeleteMeetingInput{MeetingId: m.MeetingId}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyJoinToken(ctx, alice.JoinToken); !errors.Is(err, ErrMeetingEnded) {
		t.Errorf("ended meeting: %v, want %v", err, ErrMeetingEnded)
	}
}

// olderFirstRead answers a view's first lookup as the store stood before,
// and the others as it stands: a read cache may be older than the
// database, never newer than the reads after it.
type olderFirstRead struct {
	store.Store
	meeting  store.Meeting
	attendee store.Attendee
}

func (o *olderFirstRead) View(ctx context.Context, fn func(store.Reader) error) error {
	return o.Store.View(ctx, func(r store.Reader) error {
		return fn(&olderFirstReader{Reader: r, o: o})
	})
}

type olderFirstReader struct {
	store.Reader
	o    *olderFirstRead
	read bool
}

func (r *olderFirstReader) MeetingByID(id string) (store.Meeting, error) {
	if !r.read {
		r.read = true
		return r.o.meeting, nil
	}
	return r.Reader.MeetingByID(id)
}

func (r *olderFirstReader) Attendee(meetingID, id string) (store.Attendee, error) {
	if !r.read {
		r.read = true
		return r.o.attendee, nil
	}
	return r.Reader.Attendee(meetingID, id)
}

// A client that joins as its meeting ends is told the meeting ended, even
// when the first row its check reads is from before the end.
func TestVerifyJoinTokenAsTheMeetingEnds(t *testing.T) {
	var o *olderFirstRead
	s := testService(t, func(st store.Store) store.Store {
		o = &olderFirstRead{Store: st}
		return o
	})
	c, m := callerMeeting(t, s)
	ctx := context.Background()
	a, err := s.CreateAttendee(ctx, c, &model.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	err = o.Store.View(ctx, func(r store.Reader) error {
		if o.meeting, err = r.MeetingByID(m.MeetingId); err != nil {
			return err
		}
		o.attendee, err = r.Attendee(m.MeetingId, a.AttendeeId)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMeeting(ctx, c, &model.DeleteMeetingInput{MeetingId: m.MeetingId}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyJoinToken(ctx, a.JoinToken); !errors.Is(err, ErrMeetingEnded) {
		t.Errorf("%v, want %v", err, ErrMeetingEnded)
	}
}
