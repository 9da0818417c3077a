package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
)

// A Planner returns the steps of a statement's plan that read a whole
// table or index, and the whole plan to show when that is wrong.
type Planner func(statement string) (walks []string, plan string)

// CheckPlans fails for every statement (of those prepared ahead) whose plan
// walks a whole table or index, but for the few that may, each for a
// reason: an index that a statement's condition cannot use, or a join in
// the wrong order, reads every row of a growing table, and no test with a
// few rows shows it.
func CheckPlans(t *testing.T, statements []string, plan Planner) {
	t.Helper()
	// By a part of the statement's text, on one line.
	allowed := map[string]string{
		"SUM(attendee_count)":              "a gauge of /metrics, once per scrape",
		"FROM deliveries WHERE dead = 0)":  "a gauge of /metrics, once per scrape",
		"FROM delivery_heads WHERE due_at": "one row per group of deliveries, oldest first, up to the limit",
		"WHERE d.dead = 1":                 "the dead letters, listed for an operator",
	}
	used := map[string]bool{}
	for _, q := range statements {
		q = strings.Join(strings.Fields(q), " ")
		walks, steps := plan(q)
		if len(walks) == 0 {
			continue
		}
		ok := false
		for key := range allowed {
			if strings.Contains(q, key) {
				ok, used[key] = true, true
			}
		}
		if !ok {
			t.Errorf("%s\nwalks %q; plan: %s", q, walks, steps)
		}
	}
	// Each listed walk is found, which also shows that walks are found.
	for key, why := range allowed {
		if !used[key] {
			t.Errorf("no statement containing %q walks a table (%s): take it off the list", key, why)
		}
	}
}

// FillForPlans stores rows of every kind, enough that a planner that
// weighs the tables' sizes plans as it would for a server in use: 2,000
// meetings of 20 accounts (a quarter ended, a quarter tagged, one in ten a
// replica) with 10 attendees each, and 20,000 events, some of them still
// to deliver or dead.
func FillForPlans(t testing.TB, s store.Store) {
	t.Helper()
	ctx := context.Background()
	var primary string
	for start := 0; start < 2000; start += 100 {
		err := s.Write(ctx, func(w store.Writer) error {
			for i := start; i < start+100; i++ {
				m := newMeeting(fmt.Sprintf("1111111111%02d", i/10%20), fmt.Sprintf("plan-%d", i))
				if i%10 == 0 {
					primary = m.ID
				} else if i%10 == 1 {
					m.PrimaryMeetingID = primary
				}
				if err := w.InsertMeeting(m); err != nil {
					return err
				}
				as := make([]*store.Attendee, 10)
				for j := range as {
					as[j] = newAttendee(m, fmt.Sprintf("user-%d", j))
				}
				if err := w.InsertAttendees(as); err != nil {
					return err
				}
				if i%4 == 1 {
					if err := w.PutTags(m.ID, []model.Tag{model.NewTag("team", "a")}); err != nil {
						return err
					}
				}
				if i%4 == 3 {
					if _, err := w.EndMeeting(m.ID, epoch.Add(time.Duration(i)*time.Second), store.EndDeleted); err != nil {
						return err
					}
				}
				es := make([]*store.Event, 10)
				for j := range es {
					es[j] = newEvent(m.ID, "chime:AttendeeAdded")
				}
				var to []string
				if i%20 == 0 {
					to = []string{"hook"}
				}
				if err := w.AppendEvents(es, to); err != nil {
					return err
				}
				if i%100 == 0 {
					if err := w.FailDelivery(es[0].Seq, "hook", 8, epoch, "refused", true); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
