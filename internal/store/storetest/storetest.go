// Package storetest is the contract every store implementation must pass.
// An implementation's test calls Run with a function that opens a fresh,
// empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
)

// Opener opens a fresh, empty store; the test closes it.
type Opener func(t *testing.T) store.Store

// Run runs the contract against the stores open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"MeetingRoundTrip", testMeetingRoundTrip},
		{"MeetingAccountScope", testMeetingAccountScope},
		{"ClientRequestTokenUnique", testClientRequestTokenUnique},
		{"RegionsIndependent", testRegionsIndependent},
		{"EndMeeting", testEndMeeting},
		{"Attendees", testAttendees},
		{"AttendeePagingOrder", testAttendeePagingOrder},
		{"SeqNeverReused", testSeqNeverReused},
		{"Capabilities", testCapabilities},
		{"Tags", testTags},
		{"Replicas", testReplicas},
		{"DueMeetings", testDueMeetings},
		{"Transcription", testTranscription},
		{"PurgeEnded", testPurgeEnded},
		{"Meetings", testMeetings},
		{"WriteRollsBack", testWriteRollsBack},
		{"WritePanics", testWritePanics},
		{"ConcurrentWritesIsolated", testConcurrentWritesIsolated},
		{"CapacityUnderConcurrency", testCapacityUnderConcurrency},
		{"AccountMeetingsLock", testAccountMeetingsLock},
		{"CanceledContext", testCanceledContext},
		{"BulkInserts", testBulkInserts},
		{"ManyDeliveries", testManyDeliveries},
		{"SeveralMeetingsAtOnce", testSeveralMeetingsAtOnce},
		{"InsertAttendeesIfFree", testInsertAttendeesIfFree},
		{"OutboxOrderAndRetries", testOutboxOrderAndRetries},
		{"OutboxDeadLetters", testOutboxDeadLetters},
		{"OutboxEventsAfterAndPurge", testOutboxEventsAfterAndPurge},
		{"OutboxRollsBack", testOutboxRollsBack},
		{"OutboxGroupsBound", testOutboxGroupsBound},
		{"OutboxHeadsUnderConcurrency", testOutboxHeadsUnderConcurrency},
		{"OutboxEmptyGroupsTakeNoPlace", testOutboxEmptyGroupsTakeNoPlace},
		{"OutboxConcurrentMoves", testOutboxConcurrentMoves},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// epoch is a fixed time so that stored times compare exactly (the stores
// keep milliseconds).
var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newMeeting(account, token string) *store.Meeting {
	maxCount := 10
	return &store.Meeting{
		ID:                 uuid.Must(uuid.NewV7()).String(),
		AccountID:          account,
		APIRegion:          "us-east-1",
		ClientRequestToken: token,
		ParamsHash:         "hash-" + token,
		ExternalMeetingID:  "ext-" + token,
		MeetingHostID:      "host",
		MediaRegion:        "eu-west-1",
		MaxAttendees:       10,
		Details: store.MeetingDetails{
			TenantIDs: []string{"tenant-a"},
			Features: &model.MeetingFeaturesConfiguration{
				Video:    &model.VideoFeatures{MaxResolution: model.FHD},
				Attendee: &model.AttendeeFeatures{MaxCount: &maxCount},
			},
			Notifications: &model.NotificationsConfiguration{SqsQueueArn: "arn:aws:sqs:us-east-1:111111111111:q"},
			NetworkType:   "Ipv4Only",
		},
		CreatedAt:    epoch,
		LastActiveAt: epoch,
	}
}

func newAttendee(m *store.Meeting, external string) *store.Attendee {
	return &store.Attendee{
		ID:             uuid.Must(uuid.NewV7()).String(),
		MeetingID:      m.ID,
		AccountID:      m.AccountID,
		ExternalUserID: external,
		Capabilities:   model.AttendeeCapabilities{Audio: model.SendReceive, Video: model.Receive, Content: model.None},
		TokenKeyID:     7,
		TokenSalt:      []byte("0123456789abcdef"),
		CreatedAt:      epoch,
	}
}

func write(t *testing.T, s store.Store, fn func(w store.Writer) error) {
	t.Helper()
	if err := s.Write(context.Background(), fn); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func read(t *testing.T, s store.Store, fn func(r store.Reader) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("view: %v", err)
	}
}

func insertMeeting(t *testing.T, s store.Store, m *store.Meeting) {
	t.Helper()
	write(t, s, func(w store.Writer) error { return w.InsertMeeting(m) })
}

func insertAttendee(t *testing.T, s store.Store, a *store.Attendee) {
	t.Helper()
	write(t, s, func(w store.Writer) error { return w.InsertAttendees([]*store.Attendee{a}) })
}

func getMeeting(t *testing.T, s store.Store, account, id string) store.Meeting {
	t.Helper()
	var m store.Meeting
	read(t, s, func(r store.Reader) error {
		var err error
		m, err = r.Meeting(account, id)
		return err
	})
	return m
}

func testMeetingRoundTrip(t *testing.T, s store.Store) {
	m := newMeeting("111111111111", "tok")
	insertMeeting(t, s, m)
	got := getMeeting(t, s, m.AccountID, m.ID)
	if got.ID != m.ID || got.AccountID != m.AccountID || got.APIRegion != "us-east-1" || got.ClientRequestToken != "tok" ||
		got.ParamsHash != m.ParamsHash || got.ExternalMeetingID != m.ExternalMeetingID || got.MeetingHostID != "host" ||
		got.MediaRegion != "eu-west-1" || got.MaxAttendees != 10 || got.AttendeeCount != 0 || !got.CreatedAt.Equal(epoch) ||
		!got.LastActiveAt.Equal(epoch) || !got.Active() || got.EndReason != "" || got.Transcription != nil {
		t.Fatalf("meeting did not round-trip:\n got %+v\nwant %+v", got, m)
	}
	d := got.Details
	if len(d.TenantIDs) != 1 || d.TenantIDs[0] != "tenant-a" || d.Features == nil || d.Features.Video.MaxResolution != model.FHD ||
		*d.Features.Attendee.MaxCount != 10 || d.Notifications.SqsQueueArn == "" || d.NetworkType != "Ipv4Only" {
		t.Fatalf("details did not round-trip: %+v", d)
	}
	read(t, s, func(r store.Reader) error {
		byID, err := r.MeetingByID(m.ID)
		if err != nil || byID.ID != m.ID {
			return fmt.Errorf("MeetingByID = %+v, %v", byID, err)
		}
		byToken, err := r.MeetingByToken(m.AccountID, m.APIRegion, "tok")
		if err != nil || byToken.ID != m.ID {
			return fmt.Errorf("MeetingByToken = %+v, %v", byToken, err)
		}
		if _, err := r.MeetingByID(uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("MeetingByID(unknown) = %v, want ErrNotFound", err)
		}
		return nil
	})
}

func testMeetingAccountScope(t *testing.T, s store.Store) {
	m := newMeeting("111111111111", "tok")
	insertMeeting(t, s, m)
	read(t, s, func(r store.Reader) error {
		if _, err := r.Meeting("222222222222", m.ID); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("other account reads meeting: %v", err)
		}
		if _, err := r.MeetingByToken("222222222222", "us-east-1", "tok"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("other account finds token: %v", err)
		}
		return nil
	})
	write(t, s, func(w store.Writer) error {
		if _, err := w.LockMeeting("222222222222", m.ID); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("other account locks meeting: %v", err)
		}
		// Another account may use the same token.
		return w.InsertMeeting(newMeeting("222222222222", "tok"))
	})
}

func testClientRequestTokenUnique(t *testing.T, s store.Store) {
	m := newMeeting("111111111111", "tok")
	insertMeeting(t, s, m)
	err := s.Write(context.Background(), func(w store.Writer) error { return w.InsertMeeting(newMeeting("111111111111", "tok")) })
	if !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("second meeting with the same token: %v, want ErrDuplicate", err)
	}
	write(t, s, func(w store.Writer) error {
		_, err := w.EndMeeting(m.ID, epoch.Add(time.Minute), store.EndDeleted)
		return err
	})
	// An ended meeting frees its token.
	again := newMeeting("111111111111", "tok")
	insertMeeting(t, s, again)
	read(t, s, func(r store.Reader) error {
		got, err := r.MeetingByToken("111111111111", "us-east-1", "tok")
		if err != nil || got.ID != again.ID {
			return fmt.Errorf("MeetingByToken after reuse = %s, %v; want %s", got.ID, err, again.ID)
		}
		return nil
	})
}

// testRegionsIndependent: a ClientRequestToken and the count of active
// meetings belong to an account in one region, as the service's control
// regions are independent.
func testRegionsIndependent(t *testing.T, s store.Store) {
	east := newMeeting("111111111111", "tok")
	insertMeeting(t, s, east)
	west := newMeeting("111111111111", "tok")
	west.APIRegion = "us-west-2"
	insertMeeting(t, s, west)
	err := s.Write(context.Background(), func(w store.Writer) error {
		again := newMeeting("111111111111", "tok")
		again.APIRegion = "us-west-2"
		return w.InsertMeeting(again)
	})
	if !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("second meeting with the same token in one region: %v, want ErrDuplicate", err)
	}
	read(t, s, func(r store.Reader) error {
		for _, m := range []*store.Meeting{east, west} {
			got, err := r.MeetingByToken(m.AccountID, m.APIRegion, "tok")
			if err != nil || got.ID != m.ID {
				return fmt.Errorf("MeetingByToken in %s = %s, %v; want %s", m.APIRegion, got.ID, err, m.ID)
			}
			if n, err := r.CountActiveMeetings(m.AccountID, m.APIRegion, 10); err != nil || n != 1 {
				return fmt.Errorf("CountActiveMeetings in %s = %d, %v; want 1", m.APIRegion, n, err)
			}
		}
		if _, err := r.MeetingByToken("111111111111", "eu-west-1", "tok"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("token found in a region without the meeting: %v", err)
		}
		return nil
	})
}

func testEndMeeting(t *testing.T, s store.Store) {
	m := newMeeting("111111111111", "tok")
	insertMeeting(t, s, m)
	a1, a2 := newAttendee(m, "alice"), newAttendee(m, "bob")
	insertAttendee(t, s, a1)
	insertAttendee(t, s, a2)
	at := epoch.Add(time.Hour)
	write(t, s, func(w store.Writer) error {
		removed, err := w.EndMeeting(m.ID, at, store.EndIdle)
		if err != nil {
			return err
		}
		if len(removed) != 2 {
			return fmt.Errorf("EndMeeting removed %d attendees, want 2", len(removed))
		}
		if _, err := w.EndMeeting(m.ID, at, store.EndIdle); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("ending twice: %v, want ErrNotFound", err)
		}
		return nil
	})
	got := getMeeting(t, s, m.AccountID, m.ID)
	if got.Active() || !got.EndedAt.Equal(at) || got.EndReason != store.EndIdle || got.AttendeeCount != 0 {
		t.Fatalf("ended meeting = %+v", got)
	}
	read(t, s, func(r store.Reader) error {
		if _, err := r.Attendee(m.ID, a1.ID); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("attendee of an ended meeting: %v", err)
		}
		if _, err := r.MeetingByToken(m.AccountID, m.APIRegion, "tok"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("token of an ended meeting: %v", err)
		}
		return nil
	})
}

func testAttendees(t *testing.T, s store.Store) {
	m := newMeeting("111111111111", "tok")
	insertMeeting(t, s, m)
	a := newAttendee(m, "alice")
	insertAttendee(t, s, a)
	if a.Seq <= 0 {
		t.Fatalf("Seq not set: %d", a.Seq)
	}
	read(t, s, func(r store.Reader) error {
		got, err := r.Attendee(m.ID, a.ID)
		if err != nil {
			return err
		}
		if got.ID != a.ID || got.Seq != a.Seq || got.MeetingID != m.ID || got.AccountID != m.AccountID || got.ExternalUserID != "alice" ||
			got.Capabilities != a.Capabilities || got.TokenKeyID != 7 || string(got.TokenSalt) != string(a.TokenSalt) || !got.CreatedAt.Equal(epoch) {
			return fmt.Errorf("attendee did not round-trip:\n got %+v\nwant %+v", got, a)
		}
		byExt, err := r.AttendeesByExternalIDs(keys(m.ID, "alice"))
		if err != nil || len(byExt) != 1 || byExt[0].ID != a.ID {
			return fmt.Errorf("AttendeesByExternalIDs = %+v, %v", byExt, err)
		}
		none, err := r.AttendeesByExternalIDs(keys(m.ID, "nobody"))
		if err != nil || len(none) != 0 {
			return fmt.Errorf("AttendeesByExternalIDs(nobody) = %+v, %v", none, err)
		}
		return nil
	})
	if n := getMeeting(t, s, m.AccountID, m.ID).AttendeeCount; n != 1 {
		t.Fatalf("AttendeeCount = %d, want 1", n)
	}
	read(t, s, func(r store.Reader) error {
		st, err := r.Stats()
		if err != nil || st.ActiveMeetings != 1 || st.ActiveAttendees != 1 {
			return fmt.Errorf("Stats = %+v, %v", st, err)
		}
		return nil
	})
	err := s.Write(context.Background(), func(w store.Writer) error { return w.InsertAttendees([]*store.Attendee{newAttendee(m, "alice")}) })
	if !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("second alice: %v, want ErrDuplicate", err)
	}
	write(t, s, func(w store.Writer) error {
		if err := w.DeleteAttendee(m.ID, a.ID); err != nil {
			return err
		}
		if err := w.DeleteAttendee(m.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("deleting twice: %v", err)
		}
		return nil
	})
	if n := getMeeting(t, s, m.AccountID, m.ID).AttendeeCount; n != 0 {
		t.Fatalf("AttendeeCount after delete = %d, want 0", n)
	}
	// The ExternalUserId is free again once its attendee is gone.
	insertAttendee(t, s, newAttendee(m, "alice"))
}

func testAttendeePagingOrder(t *testing.T, s store.Store) {
	m := newMeeting("111111111111", "tok")
	insertMeeting(t, s, m)
	var want []string
	for i := 0; i < 7; i++ {
		a := newAttendee(m, fmt.Sprintf("user-%d", i))
		insertAttendee(t, s, a)
		want = append(want, a.ID)
	}
	var got []string
	var after int64
	for {
		var page []store.Attendee
		read(t, s, func(r store.Reader) error {
			var err error
			page, err = r.Attendees(m.ID, after, 3)
			return err
		})
		for _, a := range page {
			got = append(got, a.ID)
			after = a.Seq
		}
		if len(page) < 3 {
			break
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paging order:\n got %v\nwant %v", got, want)
	}
}

func testSeqNeverReused(t *testing.T, s store.Store) {
	m := newMeeting("111111111111", "tok")
	insertMeeting(t, s, m)
	a := newAttendee(m, "alice")
	insertAttendee(t, s, a)
	write(t, s, func(w store.Writer) error { return w.DeleteAttendee(m.ID, a.ID) })
	b := newAttendee(m, "bob")
	insertAttendee(t, s, b)
	if b.Seq <= a.Seq {
		t.Fatalf("Seq reused after deleting the newest attendee: %d then %d", a.Seq, b.Seq)
	}
}

func testCapabilities(t *testing.T, s store.Store) {
	m := newMeeting("111111111111", "tok")
	insertMeeting(t, s, m)
	a, b, c := newAttendee(m, "a"), newAttendee(m, "b"), newAttendee(m, "c")
	for _, x := range []*store.Attendee{a, b, c} {
		insertAttendee(t, s, x)
	}
	one := model.AttendeeCapabilities{Audio: model.Receive, Video: model.None, Content: model.None}
	all := model.AttendeeCapabilities{Audio: model.None, Video: model.Send, Content: model.Send}
	write(t, s, func(w store.Writer) error {
		if err := w.UpdateCapabilities(m.ID, a.ID, one); err != nil {
			return err
		}
		if err := w.UpdateCapabilities(m.ID, uuid.NewString(), one); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("updating an unknown attendee: %v", err)
		}
		return w.UpdateCapabilitiesExcept(m.ID, []string{a.ID, uuid.NewString()}, all)
	})
	read(t, s, func(r store.Reader) error {
		for id, want := range map[string]model.AttendeeCapabilities{a.ID: one, b.ID: all, c.ID: all} {
			got, err := r.Attendee(m.ID, id)
			if err != nil {
				return err
			}
			if got.Capabilities != want {
				return fmt.Errorf("attendee %s capabilities = %+v, want %+v", id, got.Capabilities, want)
			}
		}
		return nil
	})
}

func testTags(t *testing.T, s store.Store) {
	m := newMeeting("111111111111", "tok")
	insertMeeting(t, s, m)
	write(t, s, func(w store.Writer) error {
		return w.PutTags(m.ID, []model.Tag{model.NewTag("b", "1"), model.NewTag("a", ""), model.NewTag("c", "3")})
	})
	write(t, s, func(w store.Writer) error {
		if err := w.PutTags(m.ID, []model.Tag{model.NewTag("b", "2")}); err != nil {
			return err
		}
		return w.DeleteTags(m.ID, []string{"c", "missing"})
	})
	read(t, s, func(r store.Reader) error {
		tags, err := r.Tags(m.ID)
		if err != nil {
			return err
		}
		var got []string
		for _, tag := range tags {
			got = append(got, *tag.Key+"="+*tag.Value)
		}
		if fmt.Sprint(got) != "[a= b=2]" {
			return fmt.Errorf("tags = %v, want [a= b=2]", got)
		}
		return nil
	})
}

func testReplicas(t *testing.T, s store.Store) {
	p := newMeeting("111111111111", "primary")
	insertMeeting(t, s, p)
	var ids []string
	for i := 0; i < 3; i++ {
		r := newMeeting("111111111111", fmt.Sprintf("replica-%d", i))
		r.PrimaryMeetingID = p.ID
		r.CreatedAt = epoch.Add(time.Duration(i) * time.Second)
		insertMeeting(t, s, r)
		ids = append(ids, r.ID)
	}
	write(t, s, func(w store.Writer) error {
		_, err := w.EndMeeting(ids[1], epoch.Add(time.Hour), store.EndDeleted)
		return err
	})
	read(t, s, func(r store.Reader) error {
		got, err := r.ActiveReplicas(p.ID)
		if err != nil {
			return err
		}
		if fmt.Sprint(got) != fmt.Sprint([]string{ids[0], ids[2]}) {
			return fmt.Errorf("ActiveReplicas = %v, want %v", got, []string{ids[0], ids[2]})
		}
		n, err := r.CountActiveMeetings("111111111111", "us-east-1", 10)
		if err != nil || n != 3 {
			return fmt.Errorf("CountActiveMeetings = %d, %v; want 3", n, err)
		}
		if n, err := r.CountActiveMeetings("111111111111", "us-east-1", 2); err != nil || n != 2 {
			return fmt.Errorf("CountActiveMeetings up to 2 = %d, %v; want 2", n, err)
		}
		st, err := r.Stats()
		if err != nil || st.ActiveMeetings != 3 || st.ActiveAttendees != 0 {
			return fmt.Errorf("Stats = %+v, %v", st, err)
		}
		return nil
	})
}

func testDueMeetings(t *testing.T, s store.Store) {
	old := newMeeting("111111111111", "old")
	old.CreatedAt, old.LastActiveAt = epoch.Add(-25*time.Hour), epoch.Add(-time.Minute)
	idle := newMeeting("111111111111", "idle")
	idle.CreatedAt, idle.LastActiveAt = epoch.Add(-time.Hour), epoch.Add(-10*time.Minute)
	busy := newMeeting("111111111111", "busy")
	busy.CreatedAt, busy.LastActiveAt = epoch.Add(-time.Hour), epoch.Add(-time.Minute)
	for _, m := range []*store.Meeting{old, idle, busy} {
		insertMeeting(t, s, m)
	}
	due := func(createdBefore, idleBefore time.Time) []string {
		var ids []string
		read(t, s, func(r store.Reader) error {
			ms, err := r.DueMeetings(createdBefore, idleBefore, 10)
			for _, m := range ms {
				ids = append(ids, m.ExternalMeetingID)
			}
			return err
		})
		return ids
	}
	if got := due(epoch.Add(-24*time.Hour), epoch.Add(-5*time.Minute)); fmt.Sprint(got) != "[ext-old ext-idle]" {
		t.Fatalf("due = %v, want [ext-old ext-idle]", got)
	}
	if got := due(time.Time{}, epoch.Add(-5*time.Minute)); fmt.Sprint(got) != "[ext-idle]" {
		t.Fatalf("due without max duration = %v, want [ext-idle]", got)
	}
	if got := due(epoch.Add(-24*time.Hour), time.Time{}); fmt.Sprint(got) != "[ext-old]" {
		t.Fatalf("due without idle timeout = %v, want [ext-old]", got)
	}
	write(t, s, func(w store.Writer) error {
		if err := w.TouchMeeting(idle.ID, epoch); err != nil {
			return err
		}
		return w.TouchMeeting(idle.ID, epoch.Add(-time.Hour)) // never backward
	})
	if got := getMeeting(t, s, idle.AccountID, idle.ID).LastActiveAt; !got.Equal(epoch) {
		t.Fatalf("LastActiveAt = %v, want %v", got, epoch)
	}
	if got := due(time.Time{}, epoch.Add(-5*time.Minute)); len(got) != 0 {
		t.Fatalf("due after touch = %v, want none", got)
	}

	// Due by both tests, a meeting comes once; a page is sorted by
	// creation, and a full one is given whenever more are due.
	for i := range 4 {
		m := newMeeting("111111111111", fmt.Sprintf("both-%d", i))
		m.CreatedAt = epoch.Add(-30*time.Hour + time.Duration(i)*time.Minute)
		m.LastActiveAt = m.CreatedAt
		insertMeeting(t, s, m)
	}
	page := func(limit int) []string {
		var ids []string
		read(t, s, func(r store.Reader) error {
			ms, err := r.DueMeetings(epoch.Add(-24*time.Hour), epoch.Add(-5*time.Minute), limit)
			for _, m := range ms {
				ids = append(ids, m.ExternalMeetingID)
			}
			return err
		})
		return ids
	}
	if got := fmt.Sprint(page(3)); got != "[ext-both-0 ext-both-1 ext-both-2]" {
		t.Fatalf("a page of 3 = %s", got)
	}
	if got := fmt.Sprint(page(10)); got != "[ext-both-0 ext-both-1 ext-both-2 ext-both-3 ext-old]" {
		t.Fatalf("every due meeting = %s", got)
	}
	// Due only by idleness, and created after the others: a page that
	// either rule alone would fill is still full.
	for i := range 3 {
		m := newMeeting("111111111111", fmt.Sprintf("idle-%d", i))
		m.CreatedAt = epoch.Add(-2*time.Hour + time.Duration(i)*time.Minute)
		m.LastActiveAt = epoch.Add(-time.Hour - time.Duration(i)*time.Minute)
		insertMeeting(t, s, m)
	}
	if got := fmt.Sprint(page(10)); got != "[ext-both-0 ext-both-1 ext-both-2 ext-both-3 ext-old ext-idle-0 ext-idle-1 ext-idle-2]" {
		t.Fatalf("every due meeting = %s", got)
	}
	if got := page(7); len(got) != 7 {
		t.Fatalf("a page of 7 of 8 due = %v", got)
	}
}

func testTranscription(t *testing.T, s store.Store) {
	m := newMeeting("111111111111", "tok")
	insertMeeting(t, s, m)
	cfg := &model.TranscriptionConfiguration{EngineTranscribeSettings: &model.EngineTranscribeSettings{LanguageCode: "en-US", Region: "auto"}}
	write(t, s, func(w store.Writer) error { return w.SetTranscription(m.ID, cfg) })
	got := getMeeting(t, s, m.AccountID, m.ID)
	if got.Transcription == nil || got.Transcription.EngineTranscribeSettings.LanguageCode != "en-US" {
		t.Fatalf("transcription = %+v", got.Transcription)
	}
	write(t, s, func(w store.Writer) error { return w.SetTranscription(m.ID, nil) })
	if got := getMeeting(t, s, m.AccountID, m.ID); got.Transcription != nil {
		t.Fatalf("transcription after stop = %+v", got.Transcription)
	}
}

func testPurgeEnded(t *testing.T, s store.Store) {
	gone, kept, active := newMeeting("111111111111", "gone"), newMeeting("111111111111", "kept"), newMeeting("111111111111", "active")
	for _, m := range []*store.Meeting{gone, kept, active} {
		insertMeeting(t, s, m)
	}
	write(t, s, func(w store.Writer) error {
		for _, m := range []*store.Meeting{gone, kept, active} {
			if err := w.PutTags(m.ID, []model.Tag{model.NewTag("k", "v")}); err != nil {
				return err
			}
		}
		if _, err := w.EndMeeting(gone.ID, epoch, store.EndDeleted); err != nil {
			return err
		}
		_, err := w.EndMeeting(kept.ID, epoch.Add(2*time.Hour), store.EndDeleted)
		return err
	})
	write(t, s, func(w store.Writer) error {
		n, err := w.PurgeEnded(epoch.Add(time.Hour), 100)
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("purged %d meetings, want 1", n)
		}
		return nil
	})
	read(t, s, func(r store.Reader) error {
		if _, err := r.MeetingByID(gone.ID); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("purged meeting still readable: %v", err)
		}
		if tags, err := r.Tags(gone.ID); err != nil || len(tags) != 0 {
			return fmt.Errorf("purged meeting kept tags: %v, %v", tags, err)
		}
		for _, m := range []*store.Meeting{kept, active} {
			if _, err := r.MeetingByID(m.ID); err != nil {
				return fmt.Errorf("meeting %s purged too early: %v", m.ExternalMeetingID, err)
			}
			if tags, err := r.Tags(m.ID); err != nil || len(tags) != 1 {
				return fmt.Errorf("meeting %s lost its tags: %v, %v", m.ExternalMeetingID, tags, err)
			}
		}
		return nil
	})
	write(t, s, func(w store.Writer) error {
		n, err := w.PurgeEnded(epoch.Add(time.Hour), 100)
		if err == nil && n != 0 {
			err = fmt.Errorf("purged %d meetings again, want none", n)
		}
		return err
	})
}

func testMeetings(t *testing.T, s store.Store) {
	var ids []string
	for i := 0; i < 4; i++ {
		m := newMeeting("111111111111", fmt.Sprintf("m%d", i))
		m.CreatedAt = epoch.Add(time.Duration(i) * time.Minute)
		insertMeeting(t, s, m)
		ids = append(ids, m.ID)
	}
	other := newMeeting("222222222222", "other")
	insertMeeting(t, s, other)
	write(t, s, func(w store.Writer) error {
		_, err := w.EndMeeting(ids[0], epoch.Add(time.Hour), store.EndDeleted)
		return err
	})
	list := func(f store.MeetingFilter) []string {
		var got []string
		read(t, s, func(r store.Reader) error {
			ms, err := r.Meetings(f)
			for _, m := range ms {
				got = append(got, m.ID)
			}
			return err
		})
		return got
	}
	if got := list(store.MeetingFilter{AccountID: "111111111111"}); fmt.Sprint(got) != fmt.Sprint([]string{ids[3], ids[2], ids[1]}) {
		t.Fatalf("active meetings newest first = %v", got)
	}
	if got := list(store.MeetingFilter{AccountID: "111111111111", IncludeEnded: true, Limit: 2}); fmt.Sprint(got) != fmt.Sprint([]string{ids[3], ids[2]}) {
		t.Fatalf("limited listing = %v", got)
	}
	if got := list(store.MeetingFilter{AccountID: "111111111111", IncludeEnded: true, CreatedBefore: epoch.Add(2 * time.Minute)}); fmt.Sprint(got) != fmt.Sprint([]string{ids[1], ids[0]}) {
		t.Fatalf("listing before a time = %v", got)
	}
	if got := list(store.MeetingFilter{}); len(got) != 4 {
		t.Fatalf("every account's active meetings = %v, want 4", got)
	}
}

func testWriteRollsBack(t *testing.T, s store.Store) {
	m := newMeeting("111111111111", "tok")
	boom := errors.New("boom")
	err := s.Write(context.Background(), func(w store.Writer) error {
		if err := w.InsertMeeting(m); err != nil {
			return err
		}
		if err := w.InsertAttendees([]*store.Attendee{newAttendee(m, "alice")}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write returned %v, want the callback's error", err)
	}
	read(t, s, func(r store.Reader) error {
		if _, err := r.MeetingByID(m.ID); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("a failed transaction left its meeting behind: %v", err)
		}
		return nil
	})
}

func testWritePanics(t *testing.T, s store.Store) {
	m := newMeeting("111111111111", "tok")
	err := s.Write(context.Background(), func(w store.Writer) error {
		if err := w.InsertMeeting(m); err != nil {
			return err
		}
		panic("bad callback")
	})
	if err == nil {
		t.Fatal("a panicking transaction reported success")
	}
	read(t, s, func(r store.Reader) error {
		if _, err := r.MeetingByID(m.ID); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("a panicking transaction left its meeting behind: %v", err)
		}
		return nil
	})
	insertMeeting(t, s, newMeeting("111111111111", "after"))
}

// testConcurrentWritesIsolated runs many transactions at once, every third
// of which fails after writing: the failures leave nothing, the others all
// commit (a store that commits transactions together must keep them apart).
func testConcurrentWritesIsolated(t *testing.T, s store.Store) {
	const n = 60
	var wg sync.WaitGroup
	results := make([]error, n)
	meetings := make([]*store.Meeting, n)
	for i := 0; i < n; i++ {
		meetings[i] = newMeeting("111111111111", fmt.Sprintf("tok-%d", i))
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = s.Write(context.Background(), func(w store.Writer) error {
				if err := w.InsertMeeting(meetings[i]); err != nil {
					return err
				}
				if i%3 == 0 {
					return fmt.Errorf("fail %d", i)
				}
				return nil
			})
		}(i)
	}
	wg.Wait()
	read(t, s, func(r store.Reader) error {
		for i, m := range meetings {
			_, err := r.MeetingByID(m.ID)
			switch {
			case i%3 == 0 && results[i] == nil:
				return fmt.Errorf("transaction %d should have failed", i)
			case i%3 == 0 && !errors.Is(err, store.ErrNotFound):
				return fmt.Errorf("failed transaction %d left its meeting: %v", i, err)
			case i%3 != 0 && results[i] != nil:
				return fmt.Errorf("transaction %d failed: %v", i, results[i])
			case i%3 != 0 && err != nil:
				return fmt.Errorf("committed transaction %d lost its meeting: %v", i, err)
			}
		}
		return nil
	})
}

// testAccountMeetingsLock holds the lock on an account's meetings in one
// transaction while another asks for it: the second must count the meeting
// the first adds.
func testAccountMeetingsLock(t *testing.T, s store.Store) {
	release := HoldAccountLock(t, s, "111111111111", func(w store.Writer) error {
		return w.InsertMeeting(newMeeting("111111111111", "held"))
	})
	second := make(chan int, 1)
	go func() {
		var n int
		err := s.Write(context.Background(), func(w store.Writer) error {
			if err := w.LockAccountMeetings("111111111111"); err != nil {
				return err
			}
			var err error
			n, err = w.CountActiveMeetings("111111111111", "us-east-1", 10)
			return err
		})
		if err != nil {
			t.Error(err)
		}
		second <- n
	}()
	time.Sleep(50 * time.Millisecond) // the second is waiting by now
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if n := <-second; n != 1 {
		t.Fatalf("the second transaction counted %d active meetings, want the first's 1", n)
	}
}

// HoldAccountLock starts a write that takes the lock on an account's
// meetings and holds it: it returns once the lock is taken. release lets
// the write go on with then (which may be nil) and returns its outcome.
func HoldAccountLock(t *testing.T, s store.Store, accountID string, then func(store.Writer) error) (release func() error) {
	t.Helper()
	return HoldWrite(t, s, func(w store.Writer) error { return w.LockAccountMeetings(accountID) }, then)
}

// HoldWrite starts a write that runs first and then holds its transaction
// open: it returns once first has run. release lets the write go on with
// then (which may be nil) and returns its outcome.
func HoldWrite(t *testing.T, s store.Store, first, then func(store.Writer) error) (release func() error) {
	t.Helper()
	held, proceed := make(chan struct{}), make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		done <- s.Write(context.Background(), func(w store.Writer) error {
			if err := first(w); err != nil {
				return err
			}
			once.Do(func() { close(held) }) // a write run again holds nothing new
			<-proceed
			if then == nil {
				return nil
			}
			return then(w)
		})
	}()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("the write that was to hold its transaction ended first: %v", err)
	}
	release = sync.OnceValue(func() error {
		close(proceed)
		return <-done
	})
	t.Cleanup(func() { release() }) // before the store closes, should the test stop early
	return release
}

// testCapacityUnderConcurrency races transactions that each add an attendee
// if the meeting has room: the ceiling must hold exactly.
func testCapacityUnderConcurrency(t *testing.T, s store.Store) {
	m := newMeeting("111111111111", "tok")
	m.MaxAttendees = 5
	insertMeeting(t, s, m)
	var added atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := s.Write(context.Background(), func(w store.Writer) error {
				cur, err := w.LockMeeting(m.AccountID, m.ID)
				if err != nil {
					return err
				}
				if cur.AttendeeCount >= cur.MaxAttendees {
					return nil
				}
				return w.InsertAttendees([]*store.Attendee{newAttendee(m, fmt.Sprintf("user-%d", i%10))})
			})
			if err == nil {
				added.Add(1)
			} else if !errors.Is(err, store.ErrDuplicate) {
				t.Errorf("write %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	got := getMeeting(t, s, m.AccountID, m.ID)
	var listed []store.Attendee
	read(t, s, func(r store.Reader) error {
		var err error
		listed, err = r.Attendees(m.ID, 0, 100)
		return err
	})
	if got.AttendeeCount != 5 || len(listed) != 5 {
		t.Fatalf("after the race: AttendeeCount %d, %d attendees stored; want 5", got.AttendeeCount, len(listed))
	}
}

func testCanceledContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := newMeeting("111111111111", "tok")
	err := s.Write(ctx, func(w store.Writer) error { return w.InsertMeeting(m) })
	if err == nil {
		// A store may run a transaction it had already taken; then it must
		// have committed it.
		_ = getMeeting(t, s, m.AccountID, m.ID)
		return
	}
	read(t, s, func(r store.Reader) error {
		if _, err := r.MeetingByID(m.ID); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("a canceled write that reported %v committed anyway", err)
		}
		return nil
	})
}

func keys(meetingID string, names ...string) []store.AttendeeKey {
	out := make([]store.AttendeeKey, len(names))
	for i, n := range names {
		out[i] = store.AttendeeKey{MeetingID: meetingID, ExternalUserID: n}
	}
	return out
}

func appendEvent(t *testing.T, s store.Store, meetingID, typ string, at time.Time, destinations ...string) *store.Event {
	t.Helper()
	e := &store.Event{ID: uuid.NewString(), MeetingID: meetingID, AccountID: "111111111111", Type: typ,
		Payload: []byte(`{"type":"` + typ + `"}`), CreatedAt: at}
	write(t, s, func(w store.Writer) error { return w.AppendEvents([]*store.Event{e}, destinations) })
	if e.Seq <= 0 {
		t.Fatalf("AppendEvent set no Seq")
	}
	return e
}

// due lists the deliveries due at now, as destination/type, of up to 100
// groups.
func due(t *testing.T, s store.Store, now time.Time, perGroup, limit int) []string {
	t.Helper()
	return dueN(t, s, now, 100, perGroup, limit)
}

// dueN is due of up to groups groups.
func dueN(t *testing.T, s store.Store, now time.Time, groups, perGroup, limit int) []string {
	t.Helper()
	var out []string
	read(t, s, func(r store.Reader) error {
		ds, err := r.DueDeliveries(now, groups, perGroup, limit)
		for _, d := range ds {
			out = append(out, d.Destination+"/"+d.Event.Type)
		}
		return err
	})
	return out
}

// newEvent is an event of a meeting, not yet appended.
func newEvent(meetingID, typ string) *store.Event {
	return &store.Event{ID: uuid.NewString(), MeetingID: meetingID, AccountID: "1", Type: typ,
		Payload: []byte("{}"), CreatedAt: epoch}
}

func testOutboxOrderAndRetries(t *testing.T, s store.Store) {
	e1 := appendEvent(t, s, "m1", "a", epoch, "hook", "sqs")
	e2 := appendEvent(t, s, "m1", "b", epoch, "hook")
	appendEvent(t, s, "m2", "c", epoch, "hook")
	if e2.Seq <= e1.Seq {
		t.Fatalf("Seq not increasing: %d then %d", e1.Seq, e2.Seq)
	}
	if got := fmt.Sprint(due(t, s, epoch, 10, 100)); got != "[hook/a hook/b sqs/a hook/c]" {
		t.Fatalf("due = %s", got)
	}
	if got := fmt.Sprint(due(t, s, epoch, 1, 3)); got != "[hook/a sqs/a hook/c]" {
		t.Fatalf("due, one per group = %s", got)
	}
	// New deliveries are due at once, even by a clock behind the writer's.
	if got := fmt.Sprint(due(t, s, epoch.Add(-time.Hour), 10, 100)); got != "[hook/a hook/b sqs/a hook/c]" {
		t.Fatalf("due by a slow clock = %s", got)
	}
	// A failed head holds back its group until it is due again.
	write(t, s, func(w store.Writer) error {
		return w.FailDelivery(e1.Seq, "hook", 1, epoch.Add(time.Minute), "503 from receiver", false)
	})
	if got := fmt.Sprint(due(t, s, epoch.Add(time.Second), 10, 100)); got != "[sqs/a hook/c]" {
		t.Fatalf("due while m1's head waits = %s", got)
	}
	if got := fmt.Sprint(due(t, s, epoch.Add(time.Minute), 10, 100)); got != "[hook/a hook/b sqs/a hook/c]" {
		t.Fatalf("due after the back-off = %s", got)
	}
	write(t, s, func(w store.Writer) error {
		if err := w.CompleteDelivery(e1.Seq, "hook"); err != nil {
			return err
		}
		if err := w.CompleteDelivery(e1.Seq, "hook"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("completing twice: %v", err)
		}
		return nil
	})
	if got := fmt.Sprint(due(t, s, epoch.Add(time.Minute), 10, 100)); got != "[sqs/a hook/b hook/c]" {
		t.Fatalf("due after delivering the head = %s", got)
	}
	var st store.OutboxStats
	read(t, s, func(r store.Reader) error {
		var err error
		st, err = r.Outbox()
		return err
	})
	if st.Pending != 3 || st.Dead != 0 || !st.OldestPending.Equal(epoch) {
		t.Fatalf("outbox stats = %+v", st)
	}
}

// testOutboxGroupsBound asks for fewer groups than are due: those with the
// oldest events come first (the limit cuts the newest), a group waiting
// out a back-off gives way, and a retry that is due again comes before
// newer groups; a group gets its share of the limit.
func testOutboxGroupsBound(t *testing.T, s store.Store) {
	dueGroups := func(now time.Time, groups, perGroup, limit int) string {
		t.Helper()
		var out []string
		read(t, s, func(r store.Reader) error {
			ds, err := r.DueDeliveries(now, groups, perGroup, limit)
			for _, d := range ds {
				out = append(out, d.Event.MeetingID+"/"+d.Event.Type)
			}
			return err
		})
		return fmt.Sprint(out)
	}
	var heads []*store.Event
	for _, typ := range []string{"a", "b", "c"} {
		for _, m := range []string{"m3", "m1", "m2"} { // m3's events are the oldest
			e := appendEvent(t, s, m, typ, epoch, "hook")
			if typ == "a" {
				heads = append(heads, e)
			}
		}
	}
	if got := dueGroups(epoch, 2, 2, 4); got != "[m3/a m3/b m1/a m1/b]" {
		t.Fatalf("two groups of two = %s", got)
	}
	if got := dueGroups(epoch, 2, 1, 100); got != "[m3/a m3/b m3/c m1/a m1/b m1/c]" {
		t.Fatalf("two groups sharing a limit of 100 = %s", got)
	}
	if got := dueGroups(epoch, 3, 0, 5); got != "[m3/a m3/b m3/c m1/a m1/b]" {
		t.Fatalf("three groups, five deliveries = %s", got)
	}
	write(t, s, func(w store.Writer) error {
		return w.FailDelivery(heads[0].Seq, "hook", 1, epoch.Add(time.Minute), "503", false)
	})
	if got := dueGroups(epoch, 2, 1, 2); got != "[m1/a m2/a]" {
		t.Fatalf("while m3 waits = %s", got)
	}
	if got := dueGroups(epoch.Add(time.Minute), 1, 1, 1); got != "[m3/a]" {
		t.Fatalf("m3 due again = %s", got)
	}
}

func testOutboxDeadLetters(t *testing.T, s store.Store) {
	e1 := appendEvent(t, s, "m1", "a", epoch, "hook")
	appendEvent(t, s, "m1", "b", epoch.Add(time.Second), "hook")
	write(t, s, func(w store.Writer) error {
		return w.FailDelivery(e1.Seq, "hook", 5, epoch, "gave up", true)
	})
	// A dead head no longer holds back its group.
	if got := fmt.Sprint(due(t, s, epoch, 10, 100)); got != "[hook/b]" {
		t.Fatalf("due after dead-lettering the head = %s", got)
	}
	read(t, s, func(r store.Reader) error {
		dead, err := r.DeadDeliveries(10)
		if err != nil {
			return err
		}
		if len(dead) != 1 || dead[0].Event.Seq != e1.Seq || !dead[0].Dead || dead[0].Attempts != 5 || dead[0].LastError != "gave up" ||
			string(dead[0].Event.Payload) != `{"type":"a"}` {
			return fmt.Errorf("dead letters = %+v", dead)
		}
		// The oldest pending delivery is b's: a's is dead.
		st, err := r.Outbox()
		if err != nil || st.Dead != 1 || st.Pending != 1 || !st.OldestPending.Equal(epoch.Add(time.Second)) {
			return fmt.Errorf("outbox = %+v, %v", st, err)
		}
		return nil
	})
	write(t, s, func(w store.Writer) error {
		n, err := w.ReviveDeliveries(nil, epoch.Add(time.Hour))
		if err != nil || n != 1 {
			return fmt.Errorf("revived %d, %v", n, err)
		}
		return nil
	})
	if got := fmt.Sprint(due(t, s, epoch.Add(time.Hour), 10, 100)); got != "[hook/a hook/b]" {
		t.Fatalf("due after replay = %s", got)
	}
}

func testOutboxEventsAfterAndPurge(t *testing.T, s store.Store) {
	old := appendEvent(t, s, "m1", "old", epoch.Add(-2*time.Hour))
	kept := appendEvent(t, s, "m2", "pending", epoch.Add(-2*time.Hour), "hook")
	fresh := appendEvent(t, s, "m1", "fresh", epoch)
	read(t, s, func(r store.Reader) error {
		all, err := r.EventsAfter(0, 10)
		if err != nil || len(all) != 3 {
			return fmt.Errorf("EventsAfter(0) = %d events, %v", len(all), err)
		}
		after, err := r.EventsAfter(kept.Seq, 10)
		if err != nil || len(after) != 1 || after[0].Seq != fresh.Seq || after[0].MeetingID != "m1" || !after[0].CreatedAt.Equal(epoch) {
			return fmt.Errorf("EventsAfter(kept) = %+v, %v", after, err)
		}
		last, err := r.LastEventSeq()
		if err != nil || last != fresh.Seq {
			return fmt.Errorf("LastEventSeq = %d, %v", last, err)
		}
		some, err := r.EventsBetween([][2]int64{{fresh.Seq, fresh.Seq + 1000}, {old.Seq - 10, old.Seq}})
		if err != nil || len(some) != 2 || some[0].Seq != old.Seq || some[1].Seq != fresh.Seq || some[1].MeetingID != "m1" {
			return fmt.Errorf("EventsBetween = %+v, %v; want old and fresh, in order", some, err)
		}
		times, err := r.EventTimes(kept.Seq, fresh.Seq+1000)
		if err != nil || len(times) != 2 || times[0] != (store.EventTime{Seq: kept.Seq, CreatedAt: kept.CreatedAt}) ||
			times[1] != (store.EventTime{Seq: fresh.Seq, CreatedAt: fresh.CreatedAt}) {
			return fmt.Errorf("EventTimes = %+v, %v; want kept and fresh, in order", times, err)
		}
		return nil
	})
	write(t, s, func(w store.Writer) error {
		// From after the old event: it is not looked at.
		if n, _, err := w.PurgeEvents(epoch.Add(-90*time.Minute), epoch.Add(-time.Hour), 100); err != nil || n != 0 {
			return fmt.Errorf("purged %d from after the old events, %v", n, err)
		}
		n, last, err := w.PurgeEvents(time.Time{}, epoch.Add(-time.Hour), 100)
		if err != nil || n != 1 || !last.Equal(old.CreatedAt) {
			return fmt.Errorf("purged %d up to %v, %v (want only the old event without deliveries, created %v)", n, last, err, old.CreatedAt)
		}
		return nil
	})
	read(t, s, func(r store.Reader) error {
		all, err := r.EventsAfter(0, 10)
		if err != nil || len(all) != 2 || all[0].Seq != kept.Seq {
			return fmt.Errorf("after purge = %+v, %v", all, err)
		}
		return nil
	})
}

func testOutboxRollsBack(t *testing.T, s store.Store) {
	err := s.Write(context.Background(), func(w store.Writer) error {
		e := newEvent("m", "x")
		if err := w.AppendEvents([]*store.Event{e}, []string{"hook"}); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("want the callback's error")
	}
	if got := due(t, s, epoch, 10, 100); len(got) != 0 {
		t.Fatalf("a rolled-back event is queued: %v", got)
	}
}

// testManyDeliveries writes more deliveries in one call than one SQL
// statement can bind (SQLite allows 32,766 variables).
func testManyDeliveries(t *testing.T, s store.Store) {
	var es []*store.Event
	for i := 0; i < 600; i++ {
		es = append(es, newEvent("m", "x"))
	}
	var dests []string
	for i := 0; i < 25; i++ { // 500 events a statement: 50,000 variables
		dests = append(dests, fmt.Sprintf("hook:%d", i))
	}
	write(t, s, func(w store.Writer) error { return w.AppendEvents(es, dests) })
	read(t, s, func(r store.Reader) error {
		ds, err := r.DueDeliveries(epoch, 100, 1000, 20000)
		if err != nil || len(ds) != len(es)*len(dests) {
			return fmt.Errorf("%d deliveries, want %d: %v", len(ds), len(es)*len(dests), err)
		}
		return nil
	})
}

// testBulkInserts writes many attendees and events in one call each.
func testBulkInserts(t *testing.T, s store.Store) {
	m := newMeeting("111111111111", "tok")
	m.MaxAttendees = 250
	insertMeeting(t, s, m)
	var as []*store.Attendee
	var names []string
	for i := 0; i < 120; i++ {
		as = append(as, newAttendee(m, fmt.Sprintf("user-%03d", i)))
		names = append(names, fmt.Sprintf("user-%03d", i))
	}
	var es []*store.Event
	for i := 0; i < 620; i++ { // more than one statement carries
		es = append(es, &store.Event{ID: uuid.NewString(), MeetingID: m.ID, AccountID: m.AccountID, Type: fmt.Sprint(i), Payload: []byte("{}"), CreatedAt: epoch})
	}
	write(t, s, func(w store.Writer) error {
		if err := w.InsertAttendees(as); err != nil {
			return err
		}
		return w.AppendEvents(es, []string{"hook", "sqs"})
	})
	for i := 1; i < len(as); i++ {
		if as[i].Seq <= as[i-1].Seq {
			t.Fatalf("attendee seqs not increasing in order: %d then %d", as[i-1].Seq, as[i].Seq)
		}
	}
	for i := 1; i < len(es); i++ {
		if es[i].Seq <= es[i-1].Seq {
			t.Fatalf("event seqs not increasing in order: %d then %d", es[i-1].Seq, es[i].Seq)
		}
	}
	// The seqs set are those stored.
	read(t, s, func(r store.Reader) error {
		stored, err := r.Attendees(m.ID, 0, 1000)
		if err != nil || len(stored) != len(as) {
			return fmt.Errorf("%d attendees stored, %v", len(stored), err)
		}
		for i := range stored {
			if stored[i].ID != as[i].ID || stored[i].Seq != as[i].Seq {
				return fmt.Errorf("attendee %d: stored %s at %d, set %s at %d", i, stored[i].ID, stored[i].Seq, as[i].ID, as[i].Seq)
			}
		}
		evs, err := r.EventsAfter(0, 1000) // the store holds m's events only
		if err != nil || len(evs) != len(es) {
			return fmt.Errorf("%d events stored, %v", len(evs), err)
		}
		for i := range evs {
			if evs[i].ID != es[i].ID || evs[i].Seq != es[i].Seq {
				return fmt.Errorf("event %d: stored %s at %d, set %s at %d", i, evs[i].ID, evs[i].Seq, es[i].ID, es[i].Seq)
			}
		}
		return nil
	})
	if n := getMeeting(t, s, m.AccountID, m.ID).AttendeeCount; n != 120 {
		t.Fatalf("AttendeeCount = %d, want 120", n)
	}
	read(t, s, func(r store.Reader) error {
		found, err := r.AttendeesByExternalIDs(keys(m.ID, append(names[:50:50], "nobody")...))
		if err != nil || len(found) != 50 {
			return fmt.Errorf("AttendeesByExternalIDs found %d, %v", len(found), err)
		}
		ds, err := r.DueDeliveries(epoch, 100, 2000, 2000)
		if err != nil || len(ds) != 2*len(es) {
			return fmt.Errorf("%d deliveries, %v", len(ds), err)
		}
		return nil
	})
	dup := []*store.Attendee{newAttendee(m, "fresh"), newAttendee(m, "user-007")}
	err := s.Write(context.Background(), func(w store.Writer) error { return w.InsertAttendees(dup) })
	if !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("a batch with a taken ExternalUserId: %v, want ErrDuplicate", err)
	}
	if n := getMeeting(t, s, m.AccountID, m.ID).AttendeeCount; n != 120 {
		t.Fatalf("AttendeeCount after a refused batch = %d, want 120", n)
	}
}

// testSeveralMeetingsAtOnce adds attendees to several meetings in one call,
// as concurrent requests combined into one transaction do.
func testSeveralMeetingsAtOnce(t *testing.T, s store.Store) {
	a, b, c := newMeeting("111111111111", "a"), newMeeting("222222222222", "b"), newMeeting("111111111111", "c")
	for _, m := range []*store.Meeting{a, b, c} {
		insertMeeting(t, s, m)
	}
	write(t, s, func(w store.Writer) error {
		got, err := w.LockMeetings([]string{c.ID, a.ID, b.ID, "00000000-0000-0000-0000-000000000000"})
		if err != nil {
			return err
		}
		if len(got) != 3 {
			return fmt.Errorf("LockMeetings found %d meetings, want 3", len(got))
		}
		as := []*store.Attendee{newAttendee(a, "x"), newAttendee(b, "x"), newAttendee(a, "y"), newAttendee(c, "z")}
		if err := w.InsertAttendees(as); err != nil {
			return err
		}
		for i := 1; i < len(as); i++ {
			if as[i].Seq <= as[i-1].Seq {
				return fmt.Errorf("seqs not increasing in order")
			}
		}
		ks := append(append(keys(a.ID, "x", "y"), keys(b.ID, "x", "y")...), keys(c.ID, "z", "x")...)
		found, err := w.AttendeesByExternalIDs(ks)
		if err != nil {
			return err
		}
		if len(found) != 4 {
			return fmt.Errorf("found %d attendees, want 4", len(found))
		}
		return nil
	})
	for m, want := range map[*store.Meeting]int{a: 2, b: 1, c: 1} {
		if n := getMeeting(t, s, m.AccountID, m.ID).AttendeeCount; n != want {
			t.Fatalf("meeting %s: AttendeeCount %d, want %d", m.ExternalMeetingID, n, want)
		}
	}
}

// testInsertAttendeesIfFree tries additions whose ExternalUserIds may be
// taken: one that finds one taken (or that the store does not try) changes
// nothing, and the transaction goes on to commit what follows it.
func testInsertAttendeesIfFree(t *testing.T, s store.Store) {
	m := newMeeting("111111111111", "tok")
	insertMeeting(t, s, m)
	insertAttendee(t, s, newAttendee(m, "alice"))
	bob, carol, dave := newAttendee(m, "bob"), newAttendee(m, "carol"), newAttendee(m, "dave")
	write(t, s, func(w store.Writer) error {
		for _, as := range [][]*store.Attendee{{newAttendee(m, "bob"), newAttendee(m, "alice")}, {newAttendee(m, "alice")}} {
			if free, err := w.InsertAttendeesIfFree(as); free || err != nil {
				return fmt.Errorf("%d attendees, one of them alice: free %v, %v", len(as), free, err)
			}
		}
		for _, as := range [][]*store.Attendee{{bob, carol}, {dave}} {
			free, err := w.InsertAttendeesIfFree(as)
			if err != nil {
				return err
			}
			if !free { // not tried by this store: nothing changed, as after a taken one
				if err := w.InsertAttendees(as); err != nil {
					return err
				}
			}
		}
		if !(0 < bob.Seq && bob.Seq < carol.Seq && carol.Seq < dave.Seq) {
			return fmt.Errorf("seqs %d, %d, %d", bob.Seq, carol.Seq, dave.Seq)
		}
		return nil
	})
	if n := getMeeting(t, s, m.AccountID, m.ID).AttendeeCount; n != 4 {
		t.Errorf("AttendeeCount = %d, want 4", n)
	}
	read(t, s, func(r store.Reader) error {
		as, err := r.Attendees(m.ID, 0, 10)
		var names []string
		for _, a := range as {
			names = append(names, a.ExternalUserID)
		}
		if err != nil || fmt.Sprint(names) != "[alice bob carol dave]" {
			return fmt.Errorf("attendees %v, %v", names, err)
		}
		return nil
	})
}
