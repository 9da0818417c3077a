package meetings

import (
	"net/url"
	"strings"

	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/token"
)

// meetingView renders a stored meeting as the API's Meeting shape.
func (s *Service) meetingView(m *store.Meeting) *model.Meeting {
	tenants := m.Details.TenantIDs
	if tenants == nil {
		tenants = []string{} // the real service sends "TenantIds": [] when there are none
	}
	return &model.Meeting{
		MeetingId:         m.ID,
		MeetingHostId:     m.MeetingHostID,
		ExternalMeetingId: m.ExternalMeetingID,
		MediaRegion:       m.MediaRegion,
		MediaPlacement:    MediaPlacement(s.cfg.PublicURL, m.ID),
		MeetingFeatures:   m.Details.Features,
		PrimaryMeetingId:  m.PrimaryMeetingID,
		TenantIds:         tenants,
		MeetingArn:        model.MeetingARN(m.APIRegion, m.AccountID, m.ID),
	}
}

// MediaPlacement points every media URL of a meeting at the server at base,
// which hosts the media plane. SignalingUrl carries no query string because
// the browser client appends its own.
func MediaPlacement(base *url.URL, meetingID string) *model.MediaPlacement {
	ws := "ws"
	if base.Scheme == "https" {
		ws = "wss"
	}
	prefix := strings.TrimSuffix(base.EscapedPath(), "/")
	at := func(scheme, path string) string {
		return (&url.URL{Scheme: scheme, Host: base.Host, Path: prefix + path}).String()
	}
	return &model.MediaPlacement{
		AudioHostUrl:     base.Host,
		AudioFallbackUrl: at(ws, "/calls/"+meetingID),
		SignalingUrl:     at(ws, "/control/"+meetingID),
		TurnControlUrl:   at(base.Scheme, "/v2/turn_sessions"),
		ScreenDataUrl:    at(ws, "/v2/screen/"+meetingID),
		ScreenSharingUrl: at(ws, "/v2/screen/"+meetingID),
		ScreenViewingUrl: at(ws, "/ws/connect") + "?passcode=null&viewer_uuid=null&X-BitHub-Call-Id=" + meetingID,
	}
}

// attendeeView renders a stored attendee with its join token.
func (s *Service) attendeeView(a *store.Attendee) (model.Attendee, error) {
	tok, err := s.keys.JoinToken(token.JoinClaims{
		KeyID:      a.TokenKeyID,
		AccountID:  a.AccountID,
		MeetingID:  a.MeetingID,
		AttendeeID: a.ID,
		Salt:       a.TokenSalt,
	})
	if err != nil {
		return model.Attendee{}, err
	}
	caps := a.Capabilities
	return model.Attendee{
		ExternalUserId: a.ExternalUserID,
		AttendeeId:     a.ID,
		JoinToken:      tok,
		Capabilities:   &caps,
	}, nil
}
