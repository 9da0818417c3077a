package e2e

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"
)

// TestCapacityUnderConcurrency races many clients adding attendees, some
// with the same ExternalUserId, to a meeting with a small ceiling: the
// ceiling holds and no ExternalUserId gets two attendees.
func TestCapacityUnderConcurrency(t *testing.T) {
	e := start(t)
	m := e.createMeeting("race", func(in *chimesdkmeetings.CreateMeetingInput) {
		in.MeetingFeatures = &chimesdkmeetings.MeetingFeaturesConfiguration{Attendee: &chimesdkmeetings.AttendeeFeatures{MaxCount: aws.Int64(10)}}
	})
	const workers = 60
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		byUser  = map[string]map[string]bool{} // ExternalUserId -> AttendeeIds seen
		limited int
	)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			user := fmt.Sprintf("user-%02d", i%25) // several workers per user
			out, err := e.client.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: aws.String(user)})
			mu.Lock()
			defer mu.Unlock()
			var ae awserr.Error
			switch {
			case err == nil:
				if byUser[user] == nil {
					byUser[user] = map[string]bool{}
				}
				byUser[user][*out.Attendee.AttendeeId] = true
			case errors.As(err, &ae) && ae.Code() == "LimitExceededException":
				limited++
			default:
				t.Errorf("CreateAttendee: %v", err)
			}
		}(i)
	}
	// Batches race too.
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var items []*chimesdkmeetings.CreateAttendeeRequestItem
			for j := 0; j < 5; j++ {
				items = append(items, &chimesdkmeetings.CreateAttendeeRequestItem{ExternalUserId: aws.String(fmt.Sprintf("batch-%d-%d", i, j))})
			}
			if _, err := e.client.BatchCreateAttendee(&chimesdkmeetings.BatchCreateAttendeeInput{MeetingId: m.MeetingId, Attendees: items}); err != nil {
				t.Errorf("BatchCreateAttendee: %v", err)
			}
		}(i)
	}
	wg.Wait()
	for user, ids := range byUser {
		if len(ids) != 1 {
			t.Fatalf("%s got %d attendees", user, len(ids))
		}
	}
	all := e.listAll(*m.MeetingId, 100)
	if len(all) != 10 {
		t.Fatalf("%d attendees stored, ceiling is 10", len(all))
	}
	if limited == 0 {
		t.Fatal("no request hit the ceiling")
	}
}

// listAll pages through a meeting's attendees.
func (e *env) listAll(meetingID string, pageSize int64) []*chimesdkmeetings.Attendee {
	e.t.Helper()
	var all []*chimesdkmeetings.Attendee
	err := e.client.ListAttendeesPagesWithContext(e.ctx(), &chimesdkmeetings.ListAttendeesInput{MeetingId: aws.String(meetingID), MaxResults: aws.Int64(pageSize)},
		func(page *chimesdkmeetings.ListAttendeesOutput, last bool) bool {
			all = append(all, page.Attendees...)
			return true
		})
	if err != nil {
		e.t.Fatal(err)
	}
	return all
}

// TestPaginationUnderConcurrentChange pages through a meeting while others
// add and delete attendees: every attendee present throughout appears
// exactly once, and no attendee appears twice.
func TestPaginationUnderConcurrentChange(t *testing.T) {
	e := start(t)
	m := e.createMeeting("paging")
	var stable, churn []string
	for i := 0; i < 120; i++ {
		a := e.createAttendee(*m.MeetingId, fmt.Sprintf("user-%03d", i))
		if i%3 == 0 {
			churn = append(churn, *a.AttendeeId)
		} else {
			stable = append(stable, *a.AttendeeId)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		n := 0
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n < len(churn) {
				if _, err := e.client.DeleteAttendee(&chimesdkmeetings.DeleteAttendeeInput{MeetingId: m.MeetingId, AttendeeId: aws.String(churn[n])}); err != nil {
					t.Errorf("DeleteAttendee: %v", err)
					return
				}
			}
			if _, err := e.client.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: aws.String(fmt.Sprintf("late-%03d", n))}); err != nil {
				var ae awserr.Error
				if !errors.As(err, &ae) || ae.Code() != "LimitExceededException" {
					t.Errorf("CreateAttendee: %v", err)
					return
				}
			}
			n++
		}
	}()
	for round := 0; round < 5; round++ {
		seen := map[string]int{}
		for _, a := range e.listAll(*m.MeetingId, 7) {
			seen[*a.AttendeeId]++
		}
		for id, n := range seen {
			if n > 1 {
				t.Fatalf("attendee %s listed %d times in one pass", id, n)
			}
		}
		for _, id := range stable {
			if seen[id] != 1 {
				t.Fatalf("stable attendee %s missing from a pass", id)
			}
		}
	}
	close(stop)
	wg.Wait()
}
