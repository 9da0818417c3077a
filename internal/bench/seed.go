package bench

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/carillon-dev/carillon/internal/accounts"
	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/token"
)

// Seed fills a store with meetings and attendees of the local account
// (000000000000, us-east-1), straight through the store in large
// transactions, to measure a server that holds a lot. It writes no events:
// the outbox of a long-running server holds only recent ones.
func Seed(ctx context.Context, st store.Store, meetings, perMeeting int, progress io.Writer) error {
	const perTx = 1000 // meetings per transaction
	now := time.Now().UTC()
	start := time.Now()
	for done := 0; done < meetings; done += perTx {
		n := min(perTx, meetings-done)
		err := st.Write(ctx, func(w store.Writer) error {
			var as []*store.Attendee
			for i := 0; i < n; i++ {
				m := &store.Meeting{
					ID: uuid.Must(uuid.NewV7()).String(), AccountID: accounts.LocalPrincipal().AccountID, APIRegion: "us-east-1",
					ClientRequestToken: uuid.NewString(), ParamsHash: "seed", ExternalMeetingID: fmt.Sprintf("seed-%d", done+i),
					MediaRegion: "us-east-1", MaxAttendees: 250, CreatedAt: now, LastActiveAt: now,
				}
				if err := w.InsertMeeting(m); err != nil {
					return err
				}
				for j := 0; j < perMeeting; j++ {
					salt, err := token.NewSalt()
					if err != nil {
						return err
					}
					as = append(as, &store.Attendee{
						ID: uuid.Must(uuid.NewV7()).String(), MeetingID: m.ID, AccountID: m.AccountID,
						ExternalUserID: fmt.Sprintf("user-%d", j), TokenKeyID: 1, TokenSalt: salt, CreatedAt: now,
						Capabilities: model.AttendeeCapabilities{Audio: model.SendReceive, Video: model.SendReceive, Content: model.SendReceive},
					})
				}
			}
			return w.InsertAttendees(as)
		})
		if err != nil {
			return err
		}
		if progress != nil && (done/perTx)%50 == 0 {
			fmt.Fprintf(progress, "  %d meetings, %d attendees (%.0fs)\n", done+n, (done+n)*perMeeting, time.Since(start).Seconds())
		}
	}
	return nil
}
