package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
)

// benchOtherOperations times the store's share of the API operations that
// Bench's first runs leave out, and of the lifecycle's work, each as the
// domain runs it (meetings.Service): the same reads and writes, in one
// transaction, with the events it emits.
func benchOtherOperations(b *testing.B, open func(b *testing.B) store.Store) {
	b.Run("CreateMeetingWithAttendees10", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		parallel(b, 4, func(i int) {
			m := newMeeting("111111111111", fmt.Sprintf("with-%d", i))
			as := make([]*store.Attendee, 10)
			es := []*store.Event{newEvent(m.ID, "chime:MeetingStarted")}
			for j := range as {
				as[j] = newAttendee(m, fmt.Sprintf("user-%d", j))
				es = append(es, newEvent(m.ID, "chime:AttendeeAdded"))
			}
			benchWrite(b, s, func(w store.Writer) error {
				if _, err := w.MeetingByToken(m.AccountID, m.APIRegion, m.ClientRequestToken); !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("token lookup: %v", err)
				}
				if err := w.InsertMeeting(m); err != nil {
					return err
				}
				if err := w.InsertAttendees(as); err != nil {
					return err
				}
				return w.AppendEvents(es, nil)
			})
		})
	})
	b.Run("UpdateAttendeeCapabilities", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		ms := benchMeetings(b, s, 100, 10)
		var as []*store.Attendee
		for _, m := range ms {
			as = append(as, benchAttendees(b, s, m, 10)...)
		}
		parallel(b, 16, func(i int) {
			a := as[i%len(as)]
			benchWrite(b, s, func(w store.Writer) error {
				if _, err := w.LockMeeting(a.AccountID, a.MeetingID); err != nil {
					return err
				}
				if _, err := w.Attendee(a.MeetingID, a.ID); err != nil {
					return err
				}
				if err := w.UpdateCapabilities(a.MeetingID, a.ID, capabilitiesFor(i)); err != nil {
					return err
				}
				return w.AppendEvents([]*store.Event{newEvent(a.MeetingID, "chime:AttendeeCapabilitiesUpdated")}, nil)
			})
		})
	})
	b.Run("BatchUpdateAttendeeCapabilitiesExcept10", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		ms := benchMeetings(b, s, 100, 10)
		excluded := make([][]string, len(ms))
		for i, m := range ms {
			excluded[i] = []string{benchAttendees(b, s, m, 10)[0].ID} // the host keeps what it has
		}
		parallel(b, 16, func(i int) {
			m := ms[i%len(ms)]
			benchWrite(b, s, func(w store.Writer) error {
				if _, err := w.LockMeeting(m.AccountID, m.ID); err != nil {
					return err
				}
				all, err := w.Attendees(m.ID, 0, m.MaxAttendees+1)
				if err != nil {
					return err
				}
				if err := w.UpdateCapabilitiesExcept(m.ID, excluded[i%len(ms)], capabilitiesFor(i)); err != nil {
					return err
				}
				es := make([]*store.Event, 0, len(all))
				for range len(all) - 1 {
					es = append(es, newEvent(m.ID, "chime:AttendeeCapabilitiesUpdated"))
				}
				return w.AppendEvents(es, nil)
			})
		})
	})
	b.Run("TagResource", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		ms := benchMeetings(b, s, 1000, 10)
		parallel(b, 16, func(i int) {
			m := ms[i%len(ms)]
			benchWrite(b, s, func(w store.Writer) error {
				if _, err := w.LockMeeting(m.AccountID, m.ID); err != nil {
					return err
				}
				if _, err := w.Tags(m.ID); err != nil {
					return err
				}
				return w.PutTags(m.ID, []model.Tag{model.NewTag("team", fmt.Sprint(i)), model.NewTag(fmt.Sprintf("k%d", i%40), "v")})
			})
		})
	})
	b.Run("UntagResource", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		ms := benchMeetings(b, s, 1000, 10)
		for _, m := range ms {
			tags := make([]model.Tag, 40)
			for j := range tags {
				tags[j] = model.NewTag(fmt.Sprintf("k%d", j), "v")
			}
			benchWrite(b, s, func(w store.Writer) error { return w.PutTags(m.ID, tags) })
		}
		parallel(b, 16, func(i int) {
			m := ms[i%len(ms)]
			benchWrite(b, s, func(w store.Writer) error {
				if _, err := w.LockMeeting(m.AccountID, m.ID); err != nil {
					return err
				}
				return w.DeleteTags(m.ID, []string{fmt.Sprintf("k%d", i/len(ms)%40)})
			})
		})
	})
	b.Run("ListTagsForResource", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		ms := benchMeetings(b, s, 100, 10)
		for _, m := range ms {
			benchWrite(b, s, func(w store.Writer) error {
				return w.PutTags(m.ID, []model.Tag{model.NewTag("team", "a"), model.NewTag("cost-centre", "b"), model.NewTag("env", "c")})
			})
		}
		parallel(b, 1, func(i int) {
			m := ms[i%len(ms)]
			benchView(b, s, func(r store.Reader) error {
				if _, err := r.Meeting(m.AccountID, m.ID); err != nil {
					return err
				}
				tags, err := r.Tags(m.ID)
				if err == nil && len(tags) != 3 {
					err = fmt.Errorf("%d tags, want 3", len(tags))
				}
				return err
			})
		})
	})
	transcribe := &model.TranscriptionConfiguration{EngineTranscribeSettings: &model.EngineTranscribeSettings{LanguageCode: "en-US", Region: "auto"}}
	// StartMeetingTranscription, or StopMeetingTranscription with cfg nil.
	transcription := func(m *store.Meeting, cfg *model.TranscriptionConfiguration, eventType string) func(store.Writer) error {
		return func(w store.Writer) error {
			if _, err := w.LockMeeting(m.AccountID, m.ID); err != nil {
				return err
			}
			if err := w.SetTranscription(m.ID, cfg); err != nil {
				return err
			}
			return w.AppendEvents([]*store.Event{newEvent(m.ID, eventType)}, nil)
		}
	}
	b.Run("StartMeetingTranscription", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		ms := benchMeetings(b, s, b.N, 10)
		parallel(b, 16, func(i int) {
			benchWrite(b, s, transcription(ms[i], transcribe, "chime:TranscriptionStarted"))
		})
	})
	b.Run("StopMeetingTranscription", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		ms := benchMeetings(b, s, b.N, 10)
		for start := 0; start < len(ms); start += 1000 {
			benchWrite(b, s, func(w store.Writer) error {
				for _, m := range ms[start:min(start+1000, len(ms))] {
					if err := w.SetTranscription(m.ID, transcribe); err != nil {
						return err
					}
				}
				return nil
			})
		}
		parallel(b, 16, func(i int) {
			benchWrite(b, s, transcription(ms[i], nil, "chime:TranscriptionStopped"))
		})
	})
	// The media plane marks each meeting it hosts active every 30 seconds.
	b.Run("MarkActive", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		ms := benchMeetings(b, s, 1000, 10)
		parallel(b, 16, func(i int) {
			m := ms[i%len(ms)]
			benchWrite(b, s, func(w store.Writer) error {
				return w.TouchMeeting(m.ID, epoch.Add(time.Duration(i)*time.Millisecond))
			})
		})
	})
	// Once a minute the lifecycle deletes meetings past their retention,
	// with their tags; here one at a time, among 10,000 tagged meetings.
	b.Run("PurgeEndedAmongTagged", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		tagged := benchMeetings(b, s, 10_000, 10)
		for start := 0; start < len(tagged); start += 1000 {
			benchWrite(b, s, func(w store.Writer) error {
				for _, m := range tagged[start:min(start+1000, len(tagged))] {
					if err := w.PutTags(m.ID, []model.Tag{model.NewTag("team", "a"), model.NewTag("env", "b"), model.NewTag("cost-centre", "c")}); err != nil {
						return err
					}
				}
				return nil
			})
		}
		ended := make([]*store.Meeting, b.N)
		for start := 0; start < b.N; start += 1000 {
			benchWrite(b, s, func(w store.Writer) error {
				for i := start; i < min(start+1000, b.N); i++ {
					ended[i] = newMeeting("111111111111", fmt.Sprintf("ended-%d", i))
					if err := w.InsertMeeting(ended[i]); err != nil {
						return err
					}
					if err := w.PutTags(ended[i].ID, []model.Tag{model.NewTag("team", "a")}); err != nil {
						return err
					}
					if _, err := w.EndMeeting(ended[i].ID, epoch.Add(time.Duration(i)*time.Millisecond), store.EndDeleted); err != nil {
						return err
					}
				}
				return nil
			})
		}
		// One replica at a time, as its lifecycle does: two at once would
		// race for the same meeting.
		serial(b, s, func(w store.Writer) error {
			n, err := w.PurgeEnded(epoch.Add(time.Hour), 1)
			if err == nil && n != 1 {
				err = fmt.Errorf("purged %d meetings, want 1", n)
			}
			return err
		})
	})
	// Once a minute the dispatcher deletes delivered events past their
	// retention; here among 100,000 recent events, none of them old enough.
	b.Run("PurgeEventsNoneOld", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		benchEvents(b, s, 100_000)
		serial(b, s, func(w store.Writer) error {
			n, _, err := w.PurgeEvents(time.Time{}, epoch.Add(-time.Hour), 1000) // the dispatcher's batch
			if err == nil && n != 0 {
				err = fmt.Errorf("purged %d events, want none", n)
			}
			return err
		})
	})
	// A cursor that asks again for numbers it passed over reads them
	// among 100,000 events.
	b.Run("EventsBetweenNewest2000", benchNewestEvents(open, func(r store.Reader, first, last int64) (int, error) {
		es, err := r.EventsBetween([][2]int64{{first, last}})
		return len(es), err
	}))
	// Every replica's media plane, and every live stream that starts,
	// reads the numbers and times of the newest 2,000 events to find the
	// end of the log (events.ReadEnd); here among 100,000.
	b.Run("EventTimesNewest2000", benchNewestEvents(open, func(r store.Reader, first, last int64) (int, error) {
		es, err := r.EventTimes(first, last)
		return len(es), err
	}))
	// Deleting or ending a meeting, and creating a replica, look for its
	// replicas; here among 10,000 active meetings, none a replica.
	b.Run("ActiveReplicas", benchAmongMeetings(open, func(r store.Reader, m *store.Meeting) error {
		ids, err := r.ActiveReplicas(m.ID)
		if err == nil && len(ids) != 0 {
			err = fmt.Errorf("%d replicas, want none", len(ids))
		}
		return err
	}))
	// CreateMeeting under a quota of 250 active meetings counts an
	// account's, here one with 10,000 (a quota lowered since they began).
	b.Run("CountActiveMeetingsQuota250", benchAmongMeetings(open, func(r store.Reader, _ *store.Meeting) error {
		n, err := r.CountActiveMeetings("111111111111", "us-east-1", 250)
		if err == nil && n != 250 {
			err = fmt.Errorf("%d active meetings counted, want 250", n)
		}
		return err
	}))
	// Every scrape of the metrics reads the store's gauges.
	b.Run("MetricsGauges", benchAmongMeetings(open, func(r store.Reader, _ *store.Meeting) error {
		st, err := r.Stats()
		if err == nil && st.ActiveMeetings != 10_000 {
			err = fmt.Errorf("%d active meetings, want 10000", st.ActiveMeetings)
		}
		if err == nil {
			_, err = r.Outbox()
		}
		return err
	}))
	// Every replica's lifecycle asks for due meetings each second; among
	// 10,000 active meetings, none is due.
	b.Run("DueMeetingsNoneDue", benchDueMeetings(open, 0))
	// The poll that finds meetings to end, among as many: ten were created
	// over a day ago.
	b.Run("DueMeetingsTenDue", benchDueMeetings(open, 10))
}

// benchDueMeetings asks for due meetings among 10,000 active ones, of
// which the first due were created a day before the others.
func benchDueMeetings(open func(b *testing.B) store.Store, due int) func(b *testing.B) {
	return func(b *testing.B) {
		s := open(b)
		defer s.Close()
		if err := s.Write(context.Background(), func(w store.Writer) error {
			for i := range due {
				m := newMeeting("111111111111", fmt.Sprintf("old-%d", i))
				m.CreatedAt, m.LastActiveAt = epoch.Add(-25*time.Hour), epoch
				if err := w.InsertMeeting(m); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		benchMeetings(b, s, 10_000, 10)
		createdBefore, idleBefore := epoch.Add(-24*time.Hour), epoch.Add(-5*time.Minute)
		parallel(b, 1, func(int) {
			benchView(b, s, func(r store.Reader) error {
				got, err := r.DueMeetings(createdBefore, idleBefore, 100)
				if err == nil && len(got) != due {
					err = fmt.Errorf("%d meetings due, want %d", len(got), due)
				}
				return err
			})
		})
	}
}

// capabilitiesFor varies the capabilities an update sets.
func capabilitiesFor(i int) model.AttendeeCapabilities {
	if i%2 == 0 {
		return model.AttendeeCapabilities{Audio: model.SendReceive, Video: model.SendReceive, Content: model.Receive}
	}
	return model.AttendeeCapabilities{Audio: model.SendReceive, Video: model.Receive, Content: model.None}
}

// benchEvents appends n events of 500 meetings, in transactions of a
// thousand.
func benchEvents(b *testing.B, s store.Store, n int) {
	b.Helper()
	for start := 0; start < n; start += 1000 {
		es := make([]*store.Event, min(1000, n-start))
		for i := range es {
			es[i] = newEvent(fmt.Sprintf("m%d", (start+i)%500), "chime:AttendeeAdded")
		}
		benchWrite(b, s, func(w store.Writer) error { return w.AppendEvents(es, nil) })
	}
}

// benchNewestEvents reads the newest 2,000 of 100,000 events with read,
// which returns how many it read.
func benchNewestEvents(open func(b *testing.B) store.Store, read func(r store.Reader, first, last int64) (int, error)) func(b *testing.B) {
	return func(b *testing.B) {
		s := open(b)
		defer s.Close()
		benchEvents(b, s, 100_000)
		var last int64
		benchView(b, s, func(r store.Reader) (err error) { last, err = r.LastEventSeq(); return err })
		parallel(b, 1, func(int) {
			benchView(b, s, func(r store.Reader) error {
				n, err := read(r, last-1999, last)
				if err == nil && n != 2000 {
					err = fmt.Errorf("%d events, want 2000", n)
				}
				return err
			})
		})
	}
}

// benchAmongMeetings runs read, one caller per core, among 10,000 active
// meetings of one account, each time with the next of them.
func benchAmongMeetings(open func(b *testing.B) store.Store, read func(r store.Reader, m *store.Meeting) error) func(b *testing.B) {
	return func(b *testing.B) {
		s := open(b)
		defer s.Close()
		meetings := benchMeetings(b, s, 10_000, 10)
		parallel(b, 1, func(i int) {
			benchView(b, s, func(r store.Reader) error { return read(r, meetings[i%len(meetings)]) })
		})
	}
}
