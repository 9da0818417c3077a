package meetings

import (
	"context"
	"errors"
	"fmt"

	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/token"
)

// Identity is who a verified join token admits.
type Identity struct {
	AccountID      string
	MeetingID      string
	AttendeeID     string // with the suffix "#content" for a content-share session
	ExternalUserID string
	Content        bool
	Capabilities   model.AttendeeCapabilities
}

// ErrTokenRefused is returned for a join token that is malformed, forged,
// minted under a retired key, or whose attendee or meeting is gone. The
// reason is not told apart on purpose.
var ErrTokenRefused = errors.New("join token refused")

// ErrMeetingEnded is the refusal of a token whose meeting has ended: the
// media plane tells the client the meeting is over rather than that it was
// refused. It matches ErrTokenRefused too.
var ErrMeetingEnded = fmt.Errorf("%w: the meeting has ended", ErrTokenRefused)

// VerifyJoinToken checks a join token as the media plane must before it lets
// anyone in: the token must verify under a key of the keyring, and its
// attendee must still exist in a meeting that has not ended.
func (s *Service) VerifyJoinToken(ctx context.Context, tok string) (Identity, error) {
	p, err := token.ParseJoinToken(tok)
	if err != nil {
		return Identity{}, ErrTokenRefused
	}
	var id Identity
	err = s.store.View(ctx, func(r store.Reader) error {
		// The attendee is read first: should it come from a cache older
		// than the database, the meeting read after it is at least as new,
		// so a token whose meeting has just ended is told so rather than
		// refused because its attendee went with it.
		a, aErr := r.Attendee(p.MeetingID, p.AttendeeID)
		if aErr != nil && !errors.Is(aErr, store.ErrNotFound) {
			return aErr
		}
		m, err := r.MeetingByID(p.MeetingID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrTokenRefused
		}
		if err != nil {
			return err
		}
		if !m.Active() {
			// Its attendees are gone with it, so the token cannot be
			// checked; that the meeting named in it has ended is all the
			// answer tells.
			return ErrMeetingEnded
		}
		if aErr != nil {
			return ErrTokenRefused
		}
		if !s.keys.CheckJoinToken(p, a.AccountID, a.TokenSalt) {
			return ErrTokenRefused
		}
		id = Identity{
			AccountID:      a.AccountID,
			MeetingID:      m.ID,
			AttendeeID:     a.ID,
			ExternalUserID: a.ExternalUserID,
			Content:        p.Content,
			Capabilities:   a.Capabilities,
		}
		if p.Content {
			id.AttendeeID += model.ContentSuffix
		}
		return nil
	})
	return id, err
}
