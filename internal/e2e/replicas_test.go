package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/aws/request"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"
	"github.com/jackc/pgx/v5"

	"github.com/carillon-dev/carillon/internal/events"
	"github.com/carillon-dev/carillon/internal/store/postgres/pgtest"
)

// TestReplicasOnPostgres runs three carillon processes on one database and
// races clients spread over them on the same meetings and ExternalUserIds,
// kills one replica (the event dispatcher) mid-run, and then checks the
// invariants in the database and that the others ended every meeting and
// delivered every event.
func TestReplicasOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three server processes")
	}
	url, schema := pgtest.Schema(t)
	rc := newReceiver(t)
	keys := filepath.Join(t.TempDir(), "join-token-keys.json")
	args := []string{"--store", "postgres", "--postgres-url", url, "--postgres-schema", schema, "--token-key-file", keys,
		"--data-dir", t.TempDir(), "--idle-timeout", "4s", "--lifecycle-interval", "100ms",
		"--webhook-url", rc.srv.URL, "--webhook-secret", webhookSecret, "--delivery-backoff", "20ms", "--delivery-max-backoff", "200ms"}
	var procs []*process
	for i := 0; i < 3; i++ {
		procs = append(procs, startProcess(t, freePort(t), args...))
		if i == 0 {
			waitForLog(t, procs[0], "this replica now dispatches events")
		}
	}
	clients := []*chimesdkmeetings.ChimeSDKMeetings{procs[0].client(), procs[1].client(), procs[2].client()}
	survivor := clients[1]

	// Ten clients create a meeting with one ClientRequestToken at once.
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		tokenIDs = map[string]bool{}
	)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, err := clients[i%3].CreateMeeting(&chimesdkmeetings.CreateMeetingInput{ClientRequestToken: aws.String("one-token"),
				ExternalMeetingId: aws.String("same"), MediaRegion: aws.String("us-east-1")})
			if err != nil {
				t.Errorf("CreateMeeting with a shared token: %v", err)
				return
			}
			mu.Lock()
			tokenIDs[*out.Meeting.MeetingId] = true
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	if len(tokenIDs) != 1 {
		t.Fatalf("one ClientRequestToken made %d meetings across replicas", len(tokenIDs))
	}

	var meetingIDs []string
	for i := 0; i < 4; i++ {
		out, err := clients[i%3].CreateMeeting(&chimesdkmeetings.CreateMeetingInput{ExternalMeetingId: aws.String(fmt.Sprintf("race-%d", i)),
			MediaRegion:     aws.String("us-east-1"),
			MeetingFeatures: &chimesdkmeetings.MeetingFeaturesConfiguration{Attendee: &chimesdkmeetings.AttendeeFeatures{MaxCount: aws.Int64(12)}}})
		if err != nil {
			t.Fatal(err)
		}
		meetingIDs = append(meetingIDs, *out.Meeting.MeetingId)
	}
	for id := range tokenIDs {
		meetingIDs = append(meetingIDs, id)
	}

	// Race: adds, batches, deletes, listings, and a DeleteMeeting in the
	// middle, spread over the replicas.
	ctx, stop := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer stop()
	acked := map[string]string{} // AttendeeId -> MeetingId
	// unexpected tells apart the errors the race may cause: full and
	// deleted meetings, the end of the run, and the killed replica (0)
	// dropping its connections.
	unexpected := func(err error, replica int) bool {
		var ae awserr.Error
		if ctx.Err() != nil || !errors.As(err, &ae) {
			return ctx.Err() == nil
		}
		switch ae.Code() {
		case "LimitExceededException", "NotFoundException":
			return false
		case request.ErrCodeRequestError, request.ErrCodeResponseTimeout:
			return replica != 0
		}
		return true
	}
	for w := 0; w < 12; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for ctx.Err() == nil {
				replica := r.IntN(3)
				c := clients[replica]
				mid := meetingIDs[r.IntN(len(meetingIDs))]
				user := fmt.Sprintf("user-%02d", r.IntN(30))
				switch r.IntN(6) {
				case 0, 1, 2:
					out, err := c.CreateAttendeeWithContext(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: aws.String(mid), ExternalUserId: aws.String(user)})
					if err == nil {
						mu.Lock()
						acked[*out.Attendee.AttendeeId] = mid
						mu.Unlock()
					} else if unexpected(err, replica) {
						t.Errorf("CreateAttendee: %v", err)
					}
				case 3:
					items := []*chimesdkmeetings.CreateAttendeeRequestItem{{ExternalUserId: aws.String(user)}, {ExternalUserId: aws.String(user + "-b")}}
					if _, err := c.BatchCreateAttendeeWithContext(ctx, &chimesdkmeetings.BatchCreateAttendeeInput{MeetingId: aws.String(mid), Attendees: items}); err != nil && unexpected(err, replica) {
						t.Errorf("BatchCreateAttendee: %v", err)
					}
				case 4:
					out, err := c.ListAttendeesWithContext(ctx, &chimesdkmeetings.ListAttendeesInput{MeetingId: aws.String(mid), MaxResults: aws.Int64(3)})
					if err == nil && len(out.Attendees) > 0 {
						c.DeleteAttendeeWithContext(ctx, &chimesdkmeetings.DeleteAttendeeInput{MeetingId: aws.String(mid), AttendeeId: out.Attendees[0].AttendeeId})
					}
				case 5:
					if w == 0 && r.IntN(20) == 0 {
						c.DeleteMeetingWithContext(ctx, &chimesdkmeetings.DeleteMeetingInput{MeetingId: aws.String(meetingIDs[0])})
					}
				}
			}
		}(w)
	}
	time.Sleep(700 * time.Millisecond)
	// Kill the replica that dispatches events, mid-run.
	if err := procs[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-procs[0].done
	wg.Wait()

	// The invariants, in the database.
	db, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	q := func(sql string) int {
		var n int
		if err := db.QueryRow(context.Background(), strings.ReplaceAll(sql, "S.", pgx.Identifier{schema}.Sanitize()+".")).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}
	if n := q(`SELECT COUNT(*) FROM S.meetings m WHERE m.attendee_count <> (SELECT COUNT(*) FROM S.attendees a WHERE a.meeting_id = m.id)`); n != 0 {
		t.Fatalf("%d meetings whose count does not match their attendees", n)
	}
	if n := q(`SELECT COUNT(*) FROM S.meetings WHERE attendee_count > max_attendees`); n != 0 {
		t.Fatalf("%d meetings over their ceiling", n)
	}
	if n := q(`SELECT COUNT(*) FROM (SELECT meeting_id, external_user_id FROM S.attendees GROUP BY 1, 2 HAVING COUNT(*) > 1) d`); n != 0 {
		t.Fatalf("%d ExternalUserIds with two attendees", n)
	}
	if n := q(`SELECT COUNT(*) FROM S.attendees a JOIN S.meetings m ON m.id = a.meeting_id WHERE m.ended_at IS NOT NULL`); n != 0 {
		t.Fatalf("%d attendees in ended meetings", n)
	}
	if n := q(`SELECT COUNT(*) FROM S.meetings WHERE client_request_token = 'one-token'`); n != 1 {
		t.Fatalf("%d meetings for one ClientRequestToken", n)
	}
	mu.Lock()
	ackedCount := len(acked)
	mu.Unlock()
	if ackedCount == 0 {
		t.Fatal("no attendee was added during the race")
	}

	// Pagination through a surviving replica lists each attendee once.
	for _, mid := range meetingIDs {
		seen := map[string]bool{}
		err := survivor.ListAttendeesPages(&chimesdkmeetings.ListAttendeesInput{MeetingId: aws.String(mid), MaxResults: aws.Int64(2)},
			func(p *chimesdkmeetings.ListAttendeesOutput, last bool) bool {
				for _, a := range p.Attendees {
					if seen[*a.AttendeeId] {
						t.Errorf("attendee %s listed twice", *a.AttendeeId)
					}
					seen[*a.AttendeeId] = true
				}
				return true
			})
		if err != nil && !strings.Contains(err.Error(), "NotFoundException") {
			t.Fatal(err)
		}
	}

	// The survivors end every meeting when it goes idle, and deliver every
	// event, though the dispatcher died.
	waitUntil(t, 30*time.Second, func() bool { return q(`SELECT COUNT(*) FROM S.meetings WHERE ended_at IS NULL`) == 0 },
		func() string { return "the surviving replicas did not end the idle meetings" })
	total := q(`SELECT COUNT(*) FROM S.events`)
	waitUntil(t, 30*time.Second, func() bool { return q(`SELECT COUNT(*) FROM S.deliveries`) == 0 }, func() string {
		return fmt.Sprintf("%d deliveries still pending after the dispatcher died", q(`SELECT COUNT(*) FROM S.deliveries`))
	})
	got := rc.waitFor(total)
	ended := map[string]bool{}
	for _, env := range got {
		if env.Detail.EventType == events.MeetingEnded {
			ended[env.Detail.MeetingID] = true
		}
	}
	for _, mid := range meetingIDs {
		if !ended[mid] {
			t.Fatalf("no MeetingEnded delivered for %s", mid)
		}
	}
	t.Logf("%d attendees acknowledged, %d events delivered across replicas", ackedCount, len(got))
}

func waitForLog(t *testing.T, p *process, text string) {
	t.Helper()
	waitUntil(t, 15*time.Second, func() bool { return strings.Contains(p.log.String(), text) },
		func() string { return fmt.Sprintf("no %q in the log:\n%s", text, p.log.String()) })
}
